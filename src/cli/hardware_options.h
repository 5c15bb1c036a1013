// --target / --target-file, shared by every command that selects profiles.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "core/result.h"
#include "profiles/hardware.h"

namespace airlock::cli {

struct HardwareOptions {
  std::string target;       // "2xH100", "gpu=2330:10de,count=8,memory=80GiB", "cpu"
  std::string target_file;  // JSON, the form `airlock hardware --json` prints

  void add_to(CLI::App& command);
  // The target when one was given, else this machine.
  Result<profiles::Hardware> resolve() const;
};

}  // namespace airlock::cli
