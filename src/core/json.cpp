#include "core/json.h"

#include <fmt/format.h>

#include "core/file_io.h"

namespace airlock {
namespace {

// nlohmann reports a byte offset; people want line and column.
std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

}  // namespace

Result<Json> parse_json(std::string_view text, std::string_view source) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    // byte is 1-based and points just past the offending character.
    std::size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    auto [line, column] = line_column(text, offset);
    std::string what = e.what();
    // Drop nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 2: " prefix.
    auto colon = what.find(": ");
    if (colon != std::string::npos) what = what.substr(colon + 2);
    return parse_error(fmt::format("{}:{}:{}: invalid JSON: {}", source, line, column, what));
  } catch (const std::exception& e) {
    return parse_error(fmt::format("{}: invalid JSON: {}", source, e.what()));
  }
}

Result<Json> read_json_file(const std::filesystem::path& path) {
  AIRLOCK_ASSIGN_OR_RETURN(std::string text, read_file(path));
  return parse_json(text, path.string());
}

std::string dump_json(const Json& value, int indent) {
  return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace airlock
