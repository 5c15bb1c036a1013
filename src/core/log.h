// Logging: levels, text or JSON lines on stderr, and redaction of every line.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

#include "core/result.h"

namespace airlock::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };
enum class Format { kText, kJson };

void configure(Level level, Format format);
Level level();
Format format();
bool enabled(Level level);

// "debug", "info", "warn"/"warning", "error", "off" (any case).
Result<Level> parse_level(std::string_view text);
// "text" or "json".
Result<Format> parse_format(std::string_view text);

// Writes one line to stderr after redaction. Thread-safe; lines never interleave.
void write(Level level, std::string_view message);

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kDebug)) write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kInfo)) write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kWarn)) write(Level::kWarn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kError)) write(Level::kError, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace airlock::log
