#include "cache/checksums_blake3.h"

#include <fmt/format.h>

#include <cctype>

#include "core/paths.h"

namespace airlock::cache {

Result<Blake3Sums> parse_checksums_blake3(std::string_view text, std::string_view source) {
  constexpr std::size_t kMaxBytes = 16u << 20;
  constexpr std::size_t kMaxLines = 1'000'000;
  if (text.size() > kMaxBytes) {
    return parse_error(fmt::format("{}: {} bytes is more than the 16 MiB a checksum list may have", source, text.size()));
  }
  Blake3Sums sums;
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (line_number > kMaxLines) return parse_error(fmt::format("{}: more than {} lines", source, kMaxLines));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    auto where = [&] { return fmt::format("{}:{}", source, line_number); };
    if (line.size() < 66 || line.substr(64, 1) != " ") {
      return parse_error(fmt::format("{}: expected '<64 hex digits>  <path>'", where()));
    }
    std::string hash(line.substr(0, 64));
    for (char& c : hash) {
      if (!std::isxdigit(static_cast<unsigned char>(c))) {
        return parse_error(fmt::format("{}: '{}' is not a 64-digit hex BLAKE3 sum", where(), line.substr(0, 64)));
      }
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    // "<hash>  <path>" (text mode) or "<hash> *<path>" (binary mode), as b3sum writes them.
    char mode = line[65];
    if (mode != ' ' && mode != '*') {
      return parse_error(fmt::format("{}: expected two spaces (or ' *') between the sum and the path", where()));
    }
    std::string_view path = line.substr(66);
    if (path.starts_with("./")) path.remove_prefix(2);
    if (Status valid = validate_relative_path(path, "checksum path"); !valid.ok()) {
      return parse_error(fmt::format("{}: {}", where(), valid.error().message()));
    }
    auto [it, inserted] = sums.emplace(std::string(path), hash);
    if (!inserted && it->second != hash) {
      return parse_error(fmt::format("{}: '{}' is listed twice with different sums", where(), path));
    }
  }
  return sums;
}

}  // namespace airlock::cache
