// What the serve tests share: demo-model stores built once per test binary by the real
// `airlock quickstart --no-serve` (the same path a person takes), an `airlock serve` child
// started on a free port and waited for, and small HTTP helpers (net's client for well-formed
// requests, raw sockets for hostile ones).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "testing.h"

namespace airlock::testing {

struct DemoStore {
  std::filesystem::path workdir;
  std::string uri;                  // file://.../store
  std::filesystem::path model_dir;  // the hub repository folder of the demo model
};

// Built on first use; lives until the test binary exits.
const DemoStore& embedding_store();
const DemoStore& reranker_store();

struct Reply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  Json json() const;                           // null when the body is not JSON
};

// One request with net's HTTP client (no retries). status 0 when no answer came.
Reply http(const std::string& method, const std::string& url, const std::string& body = "",
           const std::map<std::string, std::string>& headers = {});

// Bytes written as they are to 127.0.0.1:port; returns what came back until the server closed
// or `wait` passed without data.
std::string raw_exchange(int port, const std::string& bytes, std::chrono::milliseconds wait = std::chrono::milliseconds(2000));

// A TCP connection to 127.0.0.1:port (-1 on failure), and a blocking send of all the bytes.
int connect_local(int port);
bool send_all(int fd, const std::string& bytes);

class Serve {
 public:
  Serve() = default;
  ~Serve();
  Serve(const Serve&) = delete;
  Serve& operator=(const Serve&) = delete;

  // `airlock serve --host 127.0.0.1 --port <free> <args>`; waits until /v1/health/ready answers
  // 200 (or, with wait_ready false, until /v1/health/live does). False (with the log in log())
  // when it exits or times out.
  bool start(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
             bool wait_ready = true, std::chrono::seconds timeout = std::chrono::seconds(120),
             const std::vector<std::string>& prefix = {});
  // SIGTERM, then the exit code (killed after `grace`).
  int terminate(std::chrono::seconds grace = std::chrono::seconds(60));
  // The exit code once it exited on its own within `timeout`; nullopt if still running.
  std::optional<int> wait_exit(std::chrono::seconds timeout);
  bool running();

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log() const;
  // Resident memory of the process (kB), from /proc.
  long rss_kb() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::optional<int> exit_code_;
  TempDir dir_;
};

// The embedding of `text` as the engine computes it, through `airlock embed --json`.
std::vector<float> engine_embedding(const std::filesystem::path& model_dir, const std::string& text,
                                    const std::vector<std::string>& extra_args = {});

}  // namespace airlock::testing
