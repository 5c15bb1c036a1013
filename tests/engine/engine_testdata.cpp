#include "engine_testdata.h"

#include <fmt/format.h>

#include <cstdlib>
#include <mutex>

#include "core/file_io.h"
#include "core/file_lock.h"
#include "core/hash.h"
#include "testing.h"

namespace airlock::testing {

std::string hex_decode(std::string_view hex) {
  std::string out;
  out.reserve(hex.size() / 2);
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  }
  return out;
}

const EngineTestdata* engine_testdata(std::string* why) {
  static std::once_flag once;
  static std::optional<EngineTestdata> data;
  static std::string reason;
  std::call_once(once, [] {
    // A directory generated beforehand (for working on the engine without regenerating).
    if (const char* given = std::getenv("AIRLOCK_ENGINE_TESTDATA")) {
      auto manifest = read_json_file(std::filesystem::path(given) / "manifest.json");
      if (manifest.ok()) {
        data = EngineTestdata{given, std::move(manifest).value()};
      } else {
        reason = manifest.error().message();
      }
      return;
    }
    std::filesystem::path scripts = project_root() / "tests" / "engine";
    Hasher hasher(HashAlgorithm::kSha256);
    for (const char* name : {"make_tiny_models.py", "text_corpus.py", "reference_models.py", "tokenizers_tool.js", "unicode_probe.js"}) {
      auto text = read_file(scripts / name);
      if (text.ok()) hasher.update(*text);
    }
    std::string key = hasher.finish_hex().substr(0, 16);
    std::filesystem::path base = std::filesystem::path(AIRLOCK_ENGINE_TESTDATA_DIR);
    std::filesystem::path dir = base / key;
    std::error_code ec;
    std::filesystem::create_directories(base, ec);
    auto lock = FileLock::acquire(base / ".lock");
    if (!lock.ok()) {
      reason = lock.error().message();
      return;
    }
    if (!std::filesystem::exists(dir / "manifest.json")) {
      CommandResult r = run_command({"/usr/bin/python3", (scripts / "make_tiny_models.py").string(), dir.string()});
      if (r.exit_code != 0) {
        reason = fmt::format("make_tiny_models.py failed ({}):\n{}{}", r.exit_code, r.out, r.err);
        std::filesystem::remove_all(dir, ec);
        return;
      }
    }
    auto manifest = read_json_file(dir / "manifest.json");
    if (!manifest.ok()) {
      reason = manifest.error().message();
      return;
    }
    data = EngineTestdata{dir, std::move(manifest).value()};
  });
  if (!data) {
    if (why != nullptr) *why = reason;
    return nullptr;
  }
  return &*data;
}

}  // namespace airlock::testing
