// Environment lookups in one place, so that "set but empty" means unset everywhere.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace airlock {

// The value of `name`, or nullopt when unset or empty.
std::optional<std::string> get_env(const char* name);

// The first of `names` that is set and non-empty, with the name that supplied it.
struct EnvValue {
  std::string name;
  std::string value;
};
std::optional<EnvValue> first_env(std::initializer_list<const char*> names);

}  // namespace airlock
