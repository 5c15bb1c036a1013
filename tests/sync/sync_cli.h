// Helpers for the push/pull CLI tests: the airlock binary with a clean S3 environment, small
// hub-style trees, and JSON summaries.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/hash.h"
#include "core/json.h"
#include "store_servers.h"
#include "testing.h"

namespace airlock::testing {

inline CommandResult airlock(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), airlock_binary().string());
  std::map<std::string, std::string> merged = s3_client_env();
  for (auto& [k, v] : env) merged[k] = v;
  return run_command(args, merged);
}

inline Json json_of(const CommandResult& result) {
  auto parsed = parse_json(result.out, "airlock output");
  if (!parsed.ok()) {
    ADD_FAILURE() << "not JSON: " << result.out << "\nstderr: " << result.err;
    return Json::object();
  }
  return *parsed;
}

// A hub-layout cache: one larger blob, a few small ones, refs without a newline, and every
// snapshot entry a relative symlink into blobs/.
inline void make_cache(const std::filesystem::path& root, std::size_t big_size, int small_files = 3) {
  namespace fs = std::filesystem;
  const fs::path repo = root / "huggingface" / "hub" / "models--org--model";
  fs::create_directories(repo / "blobs");
  fs::create_directories(repo / "refs");
  fs::create_directories(repo / "snapshots" / "abc123" / "1_Pooling");
  write_text(repo / "blobs" / "big", pattern_bytes(big_size, 42));
  write_text(repo / "refs" / "main", "abc123");
  fs::create_symlink("../../blobs/big", repo / "snapshots" / "abc123" / "model.safetensors");
  for (int i = 0; i < small_files; ++i) {
    const std::string name = "small" + std::to_string(i);
    write_text(repo / "blobs" / name, "{\"n\": " + std::to_string(i) + "}");
    fs::create_symlink("../../blobs/" + name, repo / "snapshots" / "abc123" / (name + ".json"));
  }
  fs::create_symlink("../../../blobs/small0", repo / "snapshots" / "abc123" / "1_Pooling" / "config.json");
}

inline std::string sha_of_file(const std::filesystem::path& path) {
  return sha256_hex(read_text(path));
}

// How many requests of `method` to paths containing `path` the proxy answered with `status`.
inline int proxy_count(FaultProxy& proxy, const std::string& method, const std::string& path, int status = 200) {
  Json stats = proxy.stats();
  int count = 0;
  if (!stats.contains("log")) return 0;
  for (const auto& entry : stats["log"]) {
    if (entry[0] == method && entry[1].get<std::string>().find(path) != std::string::npos && entry[2].is_number() &&
        entry[2].get<int>() == status) {
      ++count;
    }
  }
  return count;
}

}  // namespace airlock::testing
