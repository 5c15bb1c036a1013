#include "fetch_fixture.h"

namespace airlock::fetch_test {

std::string content(std::uint64_t seed, std::size_t size) {
  std::string out(size, '\0');
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (std::size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x & 0xFF);
  }
  return out;
}

void FetchTest::SetUp() {
  net::HttpClientOptions options;
  options.max_retries = 1;
  auto client = net::HttpClient::create(options);
  ASSERT_TRUE(client.ok());
  http_ = std::move(client).value();
  fs::create_directories(ngc_root());
  fs::create_directories(hf_root());
}

void FetchTest::ngc_file(const std::string& model_path, const std::string& version, const std::string& path,
                         const std::string& data) {
  fs::path file = ngc_root() / model_path / version / path;
  fs::create_directories(file.parent_path());
  testing::write_text(file, data);
}

void FetchTest::hf_file(const std::string& repo, const std::string& path, const std::string& data) {
  fs::path file = hf_root() / repo / path;
  fs::create_directories(file.parent_path());
  testing::write_text(file, data);
}

std::string FetchTest::manifest(const std::string& name, const std::string& yaml) {
  fs::path path = dir_ / name;
  testing::write_text(path, yaml);
  return path.string();
}

void FetchTest::start_ngc(std::vector<std::string> extra) {
  std::vector<std::string> argv = {"python3", (testing::project_root() / "tests/servers/ngc_server.py").string(), "--root",
                                   ngc_root().string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  ASSERT_TRUE(ngc_.start(argv)) << ngc_.last_output();
}

void FetchTest::start_hf(std::vector<std::string> extra) {
  std::vector<std::string> argv = {"python3", (testing::project_root() / "tests/servers/hf_server.py").string(), "--root",
                                   hf_root().string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  ASSERT_TRUE(hf_.start(argv)) << hf_.last_output();
}

std::map<std::string, std::string> FetchTest::env() const {
  std::map<std::string, std::string> vars = {
      {"NGC_API_KEY", kNgcKey},        {"NGC_CLI_API_KEY", "\x01unset"}, {"HF_TOKEN", "\x01unset"},
      {"AIRLOCK_CACHE", "\x01unset"},  {"NIM_CACHE_PATH", "\x01unset"},  {"NIM_MANIFEST_PATH", "\x01unset"},
      {"HTTPS_PROXY", "\x01unset"},    {"HTTP_PROXY", "\x01unset"},      {"http_proxy", "\x01unset"},
      {"https_proxy", "\x01unset"},
  };
  if (ngc_.port() != 0) {
    std::string base = "http://127.0.0.1:" + std::to_string(ngc_.port());
    vars["NGC_API_ENDPOINT"] = base;
    vars["NGC_AUTH_ENDPOINT"] = base;
  }
  if (hf_.port() != 0) vars["HF_ENDPOINT"] = "http://127.0.0.1:" + std::to_string(hf_.port());
  return vars;
}

std::vector<std::string> FetchTest::airlock_argv(std::vector<std::string> args) const {
  args.insert(args.begin(), testing::airlock_binary().string());
  return args;
}

testing::CommandResult FetchTest::airlock(std::vector<std::string> args, std::map<std::string, std::string> extra) {
  auto vars = env();
  for (auto& [key, value] : extra) vars[key] = value;
  return testing::run_command(airlock_argv(std::move(args)), vars);
}

Json FetchTest::stats(const testing::ServerProcess& server) {
  auto response = http_->send(net::HttpRequest::get("http://127.0.0.1:" + std::to_string(server.port()) + "/_stats"));
  if (!response.ok() || !response->ok()) return Json::object();
  return parse_json(response->body, "stats").value_or(Json::object());
}

void FetchTest::set_faults(const testing::ServerProcess& server, const std::vector<std::string>& faults) {
  Json list = faults;
  auto response = http_->send(net::HttpRequest::post("http://127.0.0.1:" + std::to_string(server.port()) + "/_faults",
                                                     dump_json(list), "application/json"));
  ASSERT_TRUE(response.ok() && response->ok());
}

void FetchTest::reset_stats(const testing::ServerProcess& server) {
  auto response = http_->send(
      net::HttpRequest::post("http://127.0.0.1:" + std::to_string(server.port()) + "/_stats/reset", "", "application/json"));
  ASSERT_TRUE(response.ok() && response->ok());
}

std::uint64_t FetchTest::body_bytes(const testing::ServerProcess& server, const std::string& fragment) {
  std::uint64_t total = 0;
  Json json = stats(server);
  if (!json.contains("body_bytes")) return 0;
  for (const auto& [path, bytes] : json["body_bytes"].items()) {
    if (path.find(fragment) != std::string::npos) total += bytes.get<std::uint64_t>();
  }
  return total;
}

int FetchTest::gets(const testing::ServerProcess& server, const std::string& fragment) {
  int total = 0;
  Json json = stats(server);
  if (!json.contains("gets")) return 0;
  for (const auto& [path, count] : json["gets"].items()) {
    if (path.find(fragment) != std::string::npos) total += count.get<int>();
  }
  return total;
}

}  // namespace airlock::fetch_test
