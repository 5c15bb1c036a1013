#include "cli/command.h"

namespace airlock::cli {

std::vector<RegisteredCommand>& command_registry() {
  static std::vector<RegisteredCommand> registry;
  return registry;
}

CommandRegistration::CommandRegistration(const char* name, int order, AddCommand add) {
  command_registry().push_back({name, order, add});
}

}  // namespace airlock::cli
