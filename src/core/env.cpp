#include "core/env.h"

#include <cstdlib>

namespace airlock {

std::optional<std::string> get_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

std::optional<EnvValue> first_env(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (auto value = get_env(name)) return EnvValue{name, *value};
  }
  return std::nullopt;
}

}  // namespace airlock
