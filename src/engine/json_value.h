// The JSON type of the engine's model files. Not core's order-preserving Json: its objects are
// searched linearly, which makes parsing a 30,000-entry vocabulary quadratic.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace airlock::engine {

using JsonValue = nlohmann::json;

// Parses `text`; errors name `source` and the line and column.
Result<JsonValue> parse_json_value(std::string_view text, std::string_view source);

}  // namespace airlock::engine
