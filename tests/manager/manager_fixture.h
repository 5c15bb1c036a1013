// Helpers for the manager tests: an `airlock manager` process on a free port with its own data
// directory (the local deployer running tests/manager/stand_in_serve.py unless a test asks for
// the real `airlock serve`), access keys made with the CLI, and JSON requests.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/json.h"
#include "manager/database.h"
#include "manager/child_process.h"
#include "net/http_client.h"
#include "testing.h"

namespace airlock::testing {

namespace fs = std::filesystem;

struct ApiResponse {
  int status = 0;
  Json json;
  std::string body;
  net::HttpHeaders headers;
};

inline std::shared_ptr<net::HttpClient> test_client() {
  static std::shared_ptr<net::HttpClient> client = [] {
    net::HttpClientOptions options;
    options.max_retries = 0;
    options.total_timeout = std::chrono::seconds(60);
    return std::shared_ptr<net::HttpClient>(net::HttpClient::create(options).value());
  }();
  return client;
}

inline fs::path stand_in_serve() { return project_root() / "tests" / "manager" / "stand_in_serve.py"; }

class ManagerProcess {
 public:
  explicit ManagerProcess(fs::path data_dir) : data_dir_(std::move(data_dir)) {}
  ~ManagerProcess() {
    stop(SIGTERM);
    cleanup_models();
  }

  // Starts `airlock manager` (stand-in runtime, quick back-off) and waits until it answers.
  bool start(std::vector<std::string> extra = {}, std::map<std::string, std::string> env = {}) {
    if (port_ == 0) port_ = free_port();
    std::vector<std::string> argv = {airlock_binary().string(), "manager", "--data-dir", data_dir_.string(),
                                     "--port", std::to_string(port_)};
    if (std::find(extra.begin(), extra.end(), "--serve-command") == extra.end() &&
        std::find(extra.begin(), extra.end(), "kubernetes") == extra.end()) {
      argv.insert(argv.end(), {"--serve-command", "/usr/bin/python3 " + stand_in_serve().string()});
    }
    argv.insert(argv.end(), {"--restart-backoff", "200ms", "--probe-interval", "200ms", "--stop-grace", "5s"});
    argv.insert(argv.end(), extra.begin(), extra.end());
    env.emplace("AWS_CA_BUNDLE", "\x01unset");
    log_ = data_dir_.parent_path() / ("manager-" + std::to_string(port_) + "-" + std::to_string(starts_++) + ".log");
    pid_ = spawn_background(argv, log_, env);
    const bool up = wait_until(
        [&] {
          int status = 0;
          if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return true;
          }
          auto response = test_client()->send(net::HttpRequest::get(url() + "/health/ready"));
          return response.ok() && response->status == 200;
        },
        std::chrono::seconds(60));
    return up && pid_ > 0;
  }

  // SIGTERM (graceful) or SIGKILL; waits for the process.
  int stop(int signal = SIGTERM) {
    if (pid_ <= 0) return 0;
    ::kill(pid_, signal);
    const int code = wait_for(pid_);
    pid_ = -1;
    return code;
  }

  // Safety net: ends every model process the database still records (tests that kill the
  // manager with -9 leave them running on purpose).
  void cleanup_models() {
    auto db = manager::open_manager_database(data_dir_);
    if (!db.ok()) return;
    auto rows = (*db)->query("SELECT pid, start_ticks FROM local_instances");
    if (!rows.ok()) return;
    for (const manager::SqlRow& row : *rows) {
      manager::stop_process_group(static_cast<pid_t>(row.integer(0)), static_cast<std::uint64_t>(row.integer(1)),
                                  std::chrono::seconds(5), false);
    }
    (void)(*db)->exec("DELETE FROM local_instances");
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const fs::path& data_dir() const { return data_dir_; }
  std::string log() const { return fs::exists(log_) ? read_text(log_) : ""; }
  pid_t pid() const { return pid_; }

  // `airlock manager access-key create` on this data directory; returns the key.
  std::string create_key(const std::string& name, const std::string& role = "admin") const {
    auto result = run_command({airlock_binary().string(), "manager", "access-key", "create", "--name", name, "--role",
                               role, "--data-dir", data_dir_.string(), "--json"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    auto json = parse_json(result.out, "access-key create");
    return json.ok() ? (*json)["key"].get<std::string>() : "";
  }

  ApiResponse call(const std::string& method, const std::string& path, const std::string& key,
                   const std::optional<Json>& body = std::nullopt, net::HttpHeaders headers = {}) const {
    net::HttpRequest request;
    request.method = method;
    request.url = url() + path;
    request.headers = std::move(headers);
    if (!key.empty()) request.headers.set("x-access-key", key);
    if (body) {
      request.body = dump_json(*body);
      if (!request.headers.contains("Content-Type")) request.headers.set("Content-Type", "application/json");
    }
    request.options.idempotent = true;
    ApiResponse out;
    auto response = test_client()->send(std::move(request));
    if (!response.ok()) {
      ADD_FAILURE() << method << " " << path << ": " << response.error().message();
      return out;
    }
    out.status = response->status;
    out.body = response->body;
    out.headers = response->headers;
    auto json = parse_json(out.body, path);
    if (json.ok()) out.json = std::move(*json);
    return out;
  }

  // The model's status once `done(status)` holds, or the last one seen.
  Json wait_for_model(const std::string& id, const std::string& key, const std::function<bool(const Json&)>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(30)) const {
    Json last;
    wait_until(
        [&] {
          ApiResponse response = call("GET", "/api/v1/ai-models/" + id, key);
          if (response.status != 200) return false;
          last = response.json["data"];
          return done(last);
        },
        limit);
    return last;
  }

 private:
  fs::path data_dir_;
  fs::path log_;
  int port_ = 0;
  int starts_ = 0;
  pid_t pid_ = -1;
};

// Whether the JSON is an error in the manager's shape with this status's code.
inline ::testing::AssertionResult is_error(const ApiResponse& response, int status, const std::string& fragment = "") {
  if (response.status != status) {
    return ::testing::AssertionFailure() << "status " << response.status << ", wanted " << status << ": " << response.body;
  }
  const Json& json = response.json;
  if (!json.is_object() || json.size() != 1 || !json.contains("error") || !json["error"].is_object() ||
      !json["error"].contains("code") || !json["error"]["code"].is_string() || !json["error"].contains("message") ||
      !json["error"]["message"].is_string()) {
    return ::testing::AssertionFailure() << "not {\"error\": {\"code\", \"message\"}}: " << response.body;
  }
  if (!fragment.empty() && json["error"]["message"].get<std::string>().find(fragment) == std::string::npos) {
    return ::testing::AssertionFailure() << "message lacks '" << fragment << "': " << response.body;
  }
  return ::testing::AssertionSuccess();
}

// A cache as download-to-cache leaves it (one hub repo, one airlock profile record), small.
inline void make_profile_cache(const fs::path& root, const std::string& profile_id = "airlock-cpu-fp32-test") {
  const fs::path repo = root / "huggingface" / "hub" / "models--org--tiny";
  fs::create_directories(repo / "blobs");
  fs::create_directories(repo / "refs");
  fs::create_directories(repo / "snapshots" / "abc123");
  write_text(repo / "blobs" / "aaa", "{\"hidden_size\": 8}");
  write_text(repo / "blobs" / "bbb", std::string(4096, 'w'));
  write_text(repo / "refs" / "main", "abc123");
  fs::create_symlink("../../blobs/aaa", repo / "snapshots" / "abc123" / "config.json");
  fs::create_symlink("../../blobs/bbb", repo / "snapshots" / "abc123" / "model.safetensors");
  Json record = {{"format", "airlock-profile/1"},
                 {"id", profile_id},
                 {"description", "airlock-cpu-fp32"},
                 {"tags", {{"engine", "airlock"}, {"precision", "fp32"}}},
                 {"model", "org/tiny"},
                 {"files",
                  Json::array({{{"path", "config.json"},
                                {"cache_path", "huggingface/hub/models--org--tiny/snapshots/abc123/config.json"},
                                {"size", 18}},
                               {{"path", "model.safetensors"},
                                {"cache_path", "huggingface/hub/models--org--tiny/snapshots/abc123/model.safetensors"},
                                {"size", 4096}}})}};
  write_text(root / ".airlock" / "profiles" / (profile_id + ".json"), dump_json(record, 2));
}

}  // namespace airlock::testing
