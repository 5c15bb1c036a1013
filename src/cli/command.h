// What every airlock command shares: the global options and the way a command is registered.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "core/result.h"

namespace airlock::cli {

struct GlobalOptions {
  std::string log_level = "info";
  std::string log_format = "text";
  bool quiet = false;    // no progress, warnings and errors only
  bool verbose = false;  // debug logging
};

// A command registers its flags on `app` and returns through `action` the work to run once
// parsing succeeded. Only one subcommand runs per invocation.
struct CommandContext {
  GlobalOptions& global;
  std::function<Status()>& action;
};

void add_list_model_profiles_command(CLI::App& app, CommandContext context);
void add_hardware_command(CLI::App& app, CommandContext context);

}  // namespace airlock::cli
