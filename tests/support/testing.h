// Helpers for tests: temporary directories, child processes (servers under test, the airlock
// binary), and where the project's files are.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace airlock::testing {

// The repository root ($AIRLOCK_PROJECT_ROOT, set by ctest), for tests/data, scripts, examples.
std::filesystem::path project_root();
// The airlock CLI binary under test ($AIRLOCK_BINARY, set by ctest).
std::filesystem::path airlock_binary();
// ../shared/testdata when it exists (CI), else nullopt: tests that need it skip with a message.
std::optional<std::filesystem::path> shared_testdata();

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Polls `condition` every 20 ms until it holds or `limit` has passed; whether it held.
template <typename F>
bool wait_until(F condition, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

void write_text(const std::filesystem::path& path, const std::string& content);
std::string read_text(const std::filesystem::path& path);

struct CommandResult {
  int exit_code = -1;  // 128 + signal when killed
  std::string out;
  std::string err;
};

// Runs argv[0] with arguments, waits, and captures stdout and stderr. `env` entries are added
// to (or override) the current environment; a value of "\x01unset" removes the variable.
CommandResult run_command(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env = {},
                          const std::optional<std::filesystem::path>& cwd = std::nullopt,
                          const std::string& stdin_text = "");

// A long-running child (a test server). The child must print a line containing "LISTENING
// <port>" on stdout when ready; start() waits for it. Killed (SIGTERM, then SIGKILL) on destruction.
class ServerProcess {
 public:
  ServerProcess() = default;
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Returns false (with the child's output in last_output()) when it exits or stays silent.
  bool start(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
             std::chrono::seconds timeout = std::chrono::seconds(30));
  void stop();
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& last_output() const { return output_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int stdout_fd_ = -1;
  std::string output_;
};

// Starts a child without waiting (for kill -9 tests). Returns its pid; stdout/stderr go to
// `log_path`.
pid_t spawn_background(const std::vector<std::string>& argv, const std::filesystem::path& log_path,
                       const std::map<std::string, std::string>& env = {});
// Waits for `pid`; returns its exit code (128 + signal when killed).
int wait_for(pid_t pid);

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

}  // namespace airlock::testing
