#include "manager/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "core/file_io.h"
#include "core/redact.h"
#include "core/strings.h"

extern char** environ;

namespace airlock::manager {
namespace {

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exit code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    const char* name = strsignal(signal);
    return fmt::format("signal {} ({})", signal, name ? name : "unknown");
  }
  return "ended";
}

// Field `field` (1-based, as in proc(5)) of /proc/<pid>/stat, and the state letter.
std::optional<std::pair<char, std::uint64_t>> read_stat(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  if (!in) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) is in parentheses and may hold spaces: parse after the last ')'.
  const std::size_t close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return std::nullopt;
  std::istringstream rest(text.substr(close + 2));
  std::string token;
  char state = '?';
  std::uint64_t start = 0;
  // Field 3 is the state; field 22 the start time.
  for (int field = 3; field <= 22 && rest >> token; ++field) {
    if (field == 3) state = token.empty() ? '?' : token[0];
    if (field == 22) start = parse_u64(token).value_or(0);
  }
  return std::make_pair(state, start);
}

}  // namespace

Result<SpawnedProcess> spawn_process(const SpawnOptions& options) {
  if (options.argv.empty()) return invalid_argument("no command to start");
  AIRLOCK_TRY(make_directories(options.log_path.parent_path()));

  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    const std::size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
  }
  for (const auto& [key, value] : options.env) env[key] = value;
  std::vector<std::string> env_strings;
  env_strings.reserve(env.size());
  for (const auto& [key, value] : env) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = options.argv;
  std::vector<char*> argv;
  for (std::string& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attributes);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, options.log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  if (!options.working_directory.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, options.working_directory.c_str());
  }
  // Its own session: signals to the manager's process group do not reach it, and the whole
  // group it starts can be stopped together.
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  posix_spawnattr_setsigmask(&attributes, &empty_mask);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD}) sigaddset(&defaults, s);
  posix_spawnattr_setsigdefault(&attributes, &defaults);

  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) return errno_error(fmt::format("starting {}", options.argv[0]), rc);
  SpawnedProcess spawned;
  spawned.pid = pid;
  spawned.start_ticks = process_start_ticks(pid).value_or(0);
  return spawned;
}

std::optional<std::uint64_t> process_start_ticks(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto stat = read_stat(pid);
  if (!stat || stat->first == 'Z' || stat->first == 'X') return std::nullopt;
  return stat->second;
}

bool process_is(pid_t pid, std::uint64_t start_ticks) {
  auto ticks = process_start_ticks(pid);
  return ticks && *ticks == start_ticks;
}

std::optional<std::string> reap_child(pid_t pid) {
  int status = 0;
  const pid_t rc = ::waitpid(pid, &status, WNOHANG);
  if (rc == 0) return std::nullopt;
  if (rc == pid) return describe_wait_status(status);
  // ECHILD: not (or no longer) our child; it is gone as far as we can tell.
  return std::string("ended");
}

bool stop_process_group(pid_t pid, std::uint64_t start_ticks, std::chrono::milliseconds grace, bool own_child) {
  if (pid <= 0) return true;
  const auto gone = [&] {
    if (own_child) {
      if (reap_child(pid)) return true;
    }
    return !process_is(pid, start_ticks);
  };
  if (gone()) return true;
  ::kill(-pid, SIGTERM);
  ::kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (gone()) {
      ::kill(-pid, SIGKILL);  // anything it started and left behind
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  for (int i = 0; i < 250 && !gone(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return false;
}

std::string log_tail(const std::filesystem::path& path, int lines, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff start = size > static_cast<std::streamoff>(max_bytes) ? size - static_cast<std::streamoff>(max_bytes) : 0;
  in.seekg(start);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> kept;
  for (std::string_view line : split(text, '\n')) {
    line = trim(line);
    if (!line.empty()) kept.emplace_back(line);
  }
  if (static_cast<int>(kept.size()) > lines) kept.erase(kept.begin(), kept.end() - lines);
  std::string out;
  for (const std::string& line : kept) {
    if (!out.empty()) out += " | ";
    out += line;
  }
  return redact(out);
}

}  // namespace airlock::manager

namespace airlock::manager {

Result<CommandOutput> run_command_capture(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                          const std::string& stdin_text) {
  if (argv.empty()) return invalid_argument("no command to run");
  int out_pipe[2];
  int in_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return errno_error("pipe", errno);
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) {
    const int err = errno;
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return errno_error("pipe", err);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  std::vector<std::string> args = argv;
  std::vector<char*> raw;
  for (std::string& s : args) raw.push_back(s.data());
  raw.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, raw[0], &actions, &attributes, raw.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(out_pipe[1]);
  ::close(in_pipe[0]);
  if (rc != 0) {
    ::close(out_pipe[0]);
    ::close(in_pipe[1]);
    return errno_error(fmt::format("running {}", argv[0]), rc);
  }
  // Small inputs only (manifests): written before reading, which a pipe buffer absorbs or the
  // child consumes as it reads stdin first.
  std::size_t written = 0;
  while (written < stdin_text.size()) {
    const ssize_t n = ::write(in_pipe[1], stdin_text.data() + written, stdin_text.size() - written);
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  ::close(in_pipe[1]);
  CommandOutput output;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  ::fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
  char buffer[8192];
  bool open = true;
  while (true) {
    if (open) {
      const ssize_t n = ::read(out_pipe[0], buffer, sizeof(buffer));
      if (n > 0) {
        if (output.out.size() < (1u << 20)) output.out.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) open = false;
    }
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      // Drain what is left.
      while (open) {
        const ssize_t n = ::read(out_pipe[0], buffer, sizeof(buffer));
        if (n <= 0) break;
        if (output.out.size() < (1u << 20)) output.out.append(buffer, static_cast<std::size_t>(n));
      }
      output.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      output.timed_out = true;
      output.exit_code = 128 + SIGKILL;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::close(out_pipe[0]);
  output.out = redact(output.out);
  return output;
}

}  // namespace airlock::manager
