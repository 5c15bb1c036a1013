#include "core/units.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <string>

namespace airlock {

std::string format_bytes(std::uint64_t bytes) {
  constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 5) {
    value /= 1024.0;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::string format_rate(double bytes_per_second) {
  if (!std::isfinite(bytes_per_second) || bytes_per_second < 0) bytes_per_second = 0;
  constexpr const char* kUnits[] = {"B/s", "kB/s", "MB/s", "GB/s", "TB/s"};
  int unit = 0;
  while (bytes_per_second >= 1000.0 && unit < 4) {
    bytes_per_second /= 1000.0;
    ++unit;
  }
  return fmt::format("{:.1f} {}", bytes_per_second, kUnits[unit]);
}

std::string format_duration(std::chrono::duration<double> duration) {
  double seconds = duration.count();
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  if (seconds < 60) return fmt::format("{:.1f}s", seconds);
  auto total = static_cast<std::uint64_t>(seconds + 0.5);
  std::uint64_t hours = total / 3600, minutes = total % 3600 / 60, secs = total % 60;
  if (hours > 0) return fmt::format("{}h{:02d}m{:02d}s", hours, minutes, secs);
  return fmt::format("{}m{:02d}s", minutes, secs);
}

Result<std::uint64_t> parse_bytes(std::string_view text) {
  auto bad = [&] {
    return invalid_argument(fmt::format("'{}' is not a size: write e.g. 80GiB, 512MB, 4k or 1048576", text));
  };
  std::size_t i = 0;
  while (i < text.size() && text[i] == ' ') ++i;
  std::size_t number_start = i;
  bool dot = false;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || (text[i] == '.' && !dot))) {
    dot = dot || text[i] == '.';
    ++i;
  }
  if (i == number_start) return bad();
  double number = std::stod(std::string(text.substr(number_start, i - number_start)));
  while (i < text.size() && text[i] == ' ') ++i;
  std::string suffix;
  for (; i < text.size(); ++i) {
    if (text[i] == ' ') continue;
    suffix += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
  }
  double multiplier = 0;
  if (suffix.empty() || suffix == "b") {
    multiplier = 1;
  } else {
    const char unit = suffix[0];
    std::string rest = suffix.substr(1);
    int power = 0;
    switch (unit) {
      case 'k': power = 1; break;
      case 'm': power = 2; break;
      case 'g': power = 3; break;
      case 't': power = 4; break;
      case 'p': power = 5; break;
      default: return bad();
    }
    if (rest.empty() || rest == "i" || rest == "ib") {
      multiplier = std::pow(1024.0, power);
    } else if (rest == "b") {
      multiplier = std::pow(1000.0, power);
    } else {
      return bad();
    }
  }
  double bytes = number * multiplier;
  if (bytes > 1.8e19) return invalid_argument(fmt::format("size '{}' is too large", text));
  return static_cast<std::uint64_t>(bytes + 0.5);
}

}  // namespace airlock
