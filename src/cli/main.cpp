// airlock: carries AI models across an air gap and serves them on the other side.
// Thin by design: parse flags, call one library function per command, map errors to exit codes.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>

#include "cli/command.h"
#include "cli/exit_codes.h"
#include "cli/openmp_wait_policy.h"
#include "core/json.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/version.h"

namespace airlock::cli {
namespace {

void report_error(const Error& error) {
  if (log::format() == log::Format::kJson) {
    log::write(log::Level::kError, error.message());
    return;
  }
  std::string line = "airlock: error: " + redact(error.message()) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

Status configure_logging(const GlobalOptions& global) {
  AIRLOCK_ASSIGN_OR_RETURN(log::Level level, log::parse_level(global.log_level));
  AIRLOCK_ASSIGN_OR_RETURN(log::Format format, log::parse_format(global.log_format));
  if (global.verbose) level = log::Level::kDebug;
  if (global.quiet && level < log::Level::kWarn) level = log::Level::kWarn;
  log::configure(level, format);
  return ok_status();
}

int run(int argc, char** argv) {
  register_secrets_from_environment();
  GlobalOptions global;
  std::function<Status()> action;

  CLI::App app{"airlock: build a model cache, carry it across an air gap, serve it offline"};
  app.name("airlock");
  app.set_version_flag("--version", std::string("airlock ") + std::string(kVersion));
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--log-level", global.log_level, "debug, info, warn, error or off")
      ->envname("AIRLOCK_LOG_LEVEL")
      ->capture_default_str();
  app.add_option("--log-format", global.log_format, "text or json")->envname("AIRLOCK_LOG_FORMAT")->capture_default_str();
  app.add_flag("-q,--quiet", global.quiet, "No progress output; warnings and errors only");
  app.add_flag("-v,--verbose", global.verbose, "Debug logging");

  CommandContext context{global, action};
  auto commands = command_registry();
  std::sort(commands.begin(), commands.end(), [](const RegisteredCommand& a, const RegisteredCommand& b) {
    return a.order != b.order ? a.order < b.order : std::string_view(a.name) < std::string_view(b.name);
  });
  for (const RegisteredCommand& command : commands) command.add(app, context);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string line = "airlock: error: " + redact(e.what()) + "\nRun 'airlock --help' (or 'airlock <command> --help') for usage.\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
    return kExitBadInput;
  }

  if (Status status = configure_logging(global); !status.ok()) {
    report_error(status.error());
    return kExitBadInput;
  }
  if (!action) return kExitOk;
  Status status = action();
  if (!status.ok()) {
    report_error(status.error());
    return exit_code_for(status.error().code());
  }
  return kExitOk;
}

}  // namespace
}  // namespace airlock::cli

int main(int argc, char** argv) {
  airlock::cli::use_passive_openmp_wait(argc, argv);  // may re-execute this binary (see its header)
  // Never let an exception escape as a crash with a raw what(): say what happened.
  try {
    return airlock::cli::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "airlock: internal error: %s\n", airlock::redact(e.what()).c_str());
    return 1;
  }
}
