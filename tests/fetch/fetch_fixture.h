// What the download-to-cache integration tests share: model trees for the NGC and Hugging Face
// test servers (tests/servers/ngc_server.py, hf_server.py), the servers themselves on free ports,
// their statistics and fault controls, and the airlock binary with the right environment.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/json.h"
#include "net/http_client.h"
#include "testing.h"

namespace airlock::fetch_test {

namespace fs = std::filesystem;

// Deterministic bytes: the same (seed, size) always gives the same content.
std::string content(std::uint64_t seed, std::size_t size);

class FetchTest : public ::testing::Test {
 protected:
  void SetUp() override;

  fs::path cache() const { return dir_ / "cache"; }
  fs::path ngc_root() const { return dir_ / "ngc"; }
  fs::path hf_root() const { return dir_ / "hf"; }

  // <ngc root>/<org>/<team>/<model>/<version>/<path>
  void ngc_file(const std::string& model_path, const std::string& version, const std::string& path, const std::string& data);
  // <hf root>/<org>/<name>/<path>
  void hf_file(const std::string& repo, const std::string& path, const std::string& data);
  // Writes a manifest into the test directory and returns its path.
  std::string manifest(const std::string& name, const std::string& yaml);

  void start_ngc(std::vector<std::string> extra = {});
  void start_hf(std::vector<std::string> extra = {});

  // NGC_* and HF_* pointed at the servers, with the servers' default credentials.
  std::map<std::string, std::string> env() const;
  testing::CommandResult airlock(std::vector<std::string> args, std::map<std::string, std::string> extra = {});
  std::vector<std::string> airlock_argv(std::vector<std::string> args) const;

  Json stats(const testing::ServerProcess& server);
  void set_faults(const testing::ServerProcess& server, const std::vector<std::string>& faults);
  void reset_stats(const testing::ServerProcess& server);
  // Body bytes the server sent for CDN paths containing `fragment`.
  std::uint64_t body_bytes(const testing::ServerProcess& server, const std::string& fragment);
  // GET requests the server answered for paths containing `fragment`.
  int gets(const testing::ServerProcess& server, const std::string& fragment);

  static constexpr const char* kNgcKey = "ngc-legacy-test-key-0123456789";
  static constexpr const char* kHfToken = "hf_test_token_0123456789";

  testing::TempDir dir_;
  testing::ServerProcess ngc_;
  testing::ServerProcess hf_;
  std::unique_ptr<net::HttpClient> http_;
};

}  // namespace airlock::fetch_test
