// JSON documents (nlohmann::json) parsed without exceptions, with a location in every error.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace airlock {

using Json = nlohmann::ordered_json;

// Parses `text`; `source` names it in errors ("index.json:3:14: syntax error ...").
Result<Json> parse_json(std::string_view text, std::string_view source);
Result<Json> read_json_file(const std::filesystem::path& path);

// Compact, key order preserved, UTF-8 kept; invalid UTF-8 is replaced, never thrown.
std::string dump_json(const Json& value, int indent = -1);

}  // namespace airlock
