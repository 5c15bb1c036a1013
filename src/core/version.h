// airlock's version, from the project() line of the top CMakeLists.txt.
#pragma once

#include <string_view>

namespace airlock {

#ifndef AIRLOCK_VERSION
#error "AIRLOCK_VERSION is defined by the build (CMakeLists.txt)"
#endif

inline constexpr std::string_view kVersion = AIRLOCK_VERSION;

}  // namespace airlock
