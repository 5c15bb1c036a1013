// What every airlock command shares: the global options and the way a command is registered.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "core/result.h"

namespace airlock::cli {

struct GlobalOptions {
  std::string log_level = "info";
  std::string log_format = "text";
  bool quiet = false;    // no progress, warnings and errors only
  bool verbose = false;  // debug logging
};

// A command adds its subcommand and flags to `app` and, from the subcommand's parse callback,
// stores in `action` the work to run once parsing succeeded. Only one subcommand runs.
struct CommandContext {
  GlobalOptions& global;
  std::function<Status()>& action;
};

using AddCommand = void (*)(CLI::App& app, CommandContext context);

// Commands register themselves at start-up, one file per command:
//   AIRLOCK_REGISTER_COMMAND(add_list_model_profiles_command);
// `order` sorts `airlock --help` (smaller first; ties by name).
struct CommandRegistration {
  CommandRegistration(const char* name, int order, AddCommand add);
};

struct RegisteredCommand {
  const char* name;
  int order;
  AddCommand add;
};
std::vector<RegisteredCommand>& command_registry();

#define AIRLOCK_REGISTER_COMMAND(order, function) \
  static const ::airlock::cli::CommandRegistration airlock_command_##function(#function, order, function)

}  // namespace airlock::cli
