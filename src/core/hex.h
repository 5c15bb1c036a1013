// Hexadecimal encoding of byte strings (lowercase), as hashes are written everywhere.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace airlock {

std::string to_hex(std::span<const std::uint8_t> bytes);
// Accepts upper- and lowercase digits; an odd length or a non-hex character is an error.
Result<std::vector<std::uint8_t>> from_hex(std::string_view text);
// True when `text` is exactly `length` lowercase hex digits (e.g. 64 for a sha256).
bool is_lower_hex(std::string_view text, std::size_t length);

}  // namespace airlock
