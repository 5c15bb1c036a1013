#include "engine/json_value.h"

#include <fmt/format.h>

namespace airlock::engine {

Result<JsonValue> parse_json_value(std::string_view text, std::string_view source) {
  try {
    return JsonValue::parse(text.begin(), text.end());
  } catch (const JsonValue::parse_error& e) {
    std::size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string what = e.what();
    auto colon = what.find(": ");
    if (colon != std::string::npos) what = what.substr(colon + 2);
    return parse_error(fmt::format("{}:{}:{}: invalid JSON: {}", source, line, column, what));
  } catch (const std::exception& e) {
    return parse_error(fmt::format("{}: invalid JSON: {}", source, e.what()));
  }
}

}  // namespace airlock::engine
