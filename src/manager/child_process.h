// Child processes of the local deployer: started in their own session (so a Ctrl-C or kill of
// the manager does not take them down, and a later manager can pick them up again), recognised
// across manager restarts by pid plus start time (a pid alone may have been reused), and
// stopped as a whole process group (SIGTERM, then SIGKILL after a grace period).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace airlock::manager {

struct SpawnOptions {
  std::vector<std::string> argv;                  // argv[0] is a path or a name looked up in PATH
  std::map<std::string, std::string> env;         // added to (or replacing) the manager's environment
  std::filesystem::path log_path;                 // stdout and stderr are appended here
  std::filesystem::path working_directory;        // empty: the manager's
};

struct SpawnedProcess {
  pid_t pid = -1;
  std::uint64_t start_ticks = 0;  // /proc/<pid>/stat field 22
};

Result<SpawnedProcess> spawn_process(const SpawnOptions& options);

// The process's start time in clock ticks since boot, or nullopt when it does not exist or is a
// zombie.
std::optional<std::uint64_t> process_start_ticks(pid_t pid);
// Whether `pid` is still the process that started at `start_ticks`, and not a zombie.
bool process_is(pid_t pid, std::uint64_t start_ticks);

// For a child of this process: nullopt while it runs; its exit status once it has ended
// ("exit code 3", "signal 9 (Killed)") after reaping it.
std::optional<std::string> reap_child(pid_t pid);

// SIGTERM to the process group of `pid` (it leads its own session), waits up to `grace` for it
// to go, then SIGKILL. Reaps it when it is our child. Returns whether it ended within `grace`.
bool stop_process_group(pid_t pid, std::uint64_t start_ticks, std::chrono::milliseconds grace, bool own_child);

// The last non-empty lines of a log file (at most `max_bytes` from its end), redacted.
std::string log_tail(const std::filesystem::path& path, int lines = 3, std::size_t max_bytes = 4096);

}  // namespace airlock::manager

namespace airlock::manager {

struct CommandOutput {
  int exit_code = -1;  // 128 + signal when killed (also on timeout)
  std::string out;     // stdout and stderr together
  bool timed_out = false;
};

// Runs a short command (kubectl), capturing its output (at most 1 MiB), killing it after
// `timeout`. An error only when it cannot be started.
Result<CommandOutput> run_command_capture(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                          const std::string& stdin_text = "");

}  // namespace airlock::manager
