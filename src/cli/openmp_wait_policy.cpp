#include "cli/openmp_wait_policy.h"

#include <unistd.h>

#include <cstdlib>
#include <string_view>

namespace airlock::cli {
namespace {

// The subcommand: the first argument that is neither a global flag nor a global flag's value.
std::string_view subcommand(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg(argv[i]);
    if (arg == "--log-level" || arg == "--log-format") {
      ++i;  // its value follows as the next argument
      continue;
    }
    if (!arg.empty() && arg.front() == '-') continue;
    return arg;
  }
  return {};
}

}  // namespace

void use_passive_openmp_wait(int argc, char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  const std::string_view command = subcommand(argc, argv);
  if (command != "serve" && command != "embed" && command != "rank") return;
  if (::setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
  ::execv("/proc/self/exe", argv);
  // No /proc (or no exec permission): run on with libgomp's default, and say so truthfully to
  // anything that reads the environment later (the variable came too late to matter).
  ::unsetenv("OMP_WAIT_POLICY");
}

}  // namespace airlock::cli
