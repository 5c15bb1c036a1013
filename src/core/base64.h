// Base64 (RFC 4648, standard alphabet with padding), as HTTP Basic auth and store signatures
// (Azure SharedKey keys and signatures, Content-MD5) use it.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace airlock {

std::string base64_encode(std::string_view bytes);
// Strict: padding required, no whitespace; anything else is a kParse error.
Result<std::string> base64_decode(std::string_view text);

}  // namespace airlock
