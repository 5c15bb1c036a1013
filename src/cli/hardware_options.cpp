#include "cli/hardware_options.h"

#include "profiles/target.h"

namespace airlock::cli {

void HardwareOptions::add_to(CLI::App& command) {
  auto* target_option = command.add_option(
      "--target", target,
      "Hardware you don't have: 2xH100, 4xL40S, 2xH100+1xL40S, gpu=2330:10de,count=8,memory=80GiB, or cpu");
  command.add_option("--target-file", target_file, "Hardware as JSON (the form `airlock hardware --json` prints)")
      ->excludes(target_option);
}

Result<profiles::Hardware> HardwareOptions::resolve() const {
  if (!target.empty()) return profiles::parse_target(target, profiles::detect_cpu());
  if (!target_file.empty()) return profiles::load_target_file(target_file);
  return profiles::detect_hardware();
}

}  // namespace airlock::cli
