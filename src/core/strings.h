// Small string helpers that parsers of headers, tags, flags and manifests all need.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace airlock {

// Without leading and trailing spaces, tabs, CR and LF.
std::string_view trim(std::string_view text);
// ASCII lowercase (header names, tags, schemes: never locale-dependent).
std::string to_lower(std::string_view text);
// ASCII case-insensitive equality.
bool iequals(std::string_view a, std::string_view b);
// Splits on `separator`, keeping empty pieces ("a,,b" -> {"a", "", "b"}).
std::vector<std::string_view> split(std::string_view text, char separator);
// A whole decimal number (after trim) that fits in 64 bits; nullopt for anything else.
std::optional<std::uint64_t> parse_u64(std::string_view text);

}  // namespace airlock
