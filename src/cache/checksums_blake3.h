// `checksums.blake3`: the integrity list NGC ships with each model version, one
// `<64-hex blake3>  <relative path>` per line (two spaces). Parsed strictly, since it is outside
// data: every path is validated before anyone uses it to name a file.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "core/result.h"

namespace airlock::cache {

// Path (relative to the model version) -> lowercase hex BLAKE3.
using Blake3Sums = std::map<std::string, std::string, std::less<>>;

// Accepts LF or CRLF line ends, blank lines, and b3sum's "*" binary marker before the path.
// Rejects bad hashes, unsafe paths (absolute, "..", ...), duplicate paths with different sums,
// and files over 16 MiB or 1,000,000 lines. `source` names the file in errors.
Result<Blake3Sums> parse_checksums_blake3(std::string_view text, std::string_view source);

}  // namespace airlock::cache
