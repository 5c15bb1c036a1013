// `airlock hardware`: what this machine has (or what --target describes), as text or JSON.
// The JSON is the form --target-file reads, so a node's description can be captured on one
// machine and used on another.
#include <cstdio>

#include "cli/command.h"
#include "cli/hardware_options.h"
#include "core/json.h"
#include "profiles/listing.h"

namespace airlock::cli {
namespace {

struct HardwareCommandOptions {
  HardwareOptions hardware;
  bool json = false;
};

Status run_hardware(const HardwareCommandOptions& options) {
  AIRLOCK_ASSIGN_OR_RETURN(profiles::Hardware hardware, options.hardware.resolve());
  std::string out;
  if (options.json) {
    out = dump_json(profiles::hardware_to_json(hardware), 2) + "\n";
  } else {
    out = profiles::render_system_info(hardware);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return ok_status();
}

}  // namespace

void add_hardware_command(CLI::App& app, CommandContext context) {
  auto options = std::make_shared<HardwareCommandOptions>();
  CLI::App* command = app.add_subcommand("hardware", "Show the GPUs and CPU that profile selection sees");
  options->hardware.add_to(*command);
  command->add_flag("--json", options->json, "Print JSON (the form --target-file reads)");
  command->callback([options, context] { context.action = [options] { return run_hardware(*options); }; });
}

AIRLOCK_REGISTER_COMMAND(90, add_hardware_command);

}  // namespace airlock::cli
