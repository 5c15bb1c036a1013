// A checker for the subset of OpenAPI 3.0 schemas the manager's document uses (type, nullable,
// enum, required, properties, additionalProperties: false, items, $ref, oneOf), so a test can
// hold every live response against the document and fail when either drifts.
#pragma once

#include <string>
#include <vector>

#include "core/json.h"

namespace airlock::testing {

class OpenApiChecker {
 public:
  explicit OpenApiChecker(Json document) : document_(std::move(document)) {}

  // Problems with `value` against `schema` ("" path = the root); empty when it conforms.
  std::vector<std::string> check(const Json& value, const Json& schema, const std::string& where = "$") const {
    std::vector<std::string> problems;
    check_into(value, schema, where, problems);
    return problems;
  }

  // The schema of the response body for `path` (a document path such as "/api/v1/ai-models"),
  // `method` (lowercase) and `status`.
  Json response_schema(const std::string& path, const std::string& method, int status) const {
    const Json& responses = document_["paths"][path][method]["responses"];
    const std::string key = std::to_string(status);
    if (!responses.contains(key)) return Json();
    return responses[key]["content"]["application/json"]["schema"];
  }

  const Json& resolve(const Json& schema) const {
    if (schema.is_object() && schema.contains("$ref")) {
      std::string ref = schema["$ref"].get<std::string>();  // "#/components/schemas/Name"
      const std::string name = ref.substr(ref.rfind('/') + 1);
      return document_["components"]["schemas"][name];
    }
    return schema;
  }

  const Json& document() const { return document_; }

 private:
  void check_into(const Json& value, const Json& raw, const std::string& where, std::vector<std::string>& problems) const {
    const Json& schema = resolve(raw);
    if (!schema.is_object()) return;
    if (value.is_null()) {
      if (!schema.value("nullable", false)) problems.push_back(where + ": null but not nullable");
      return;
    }
    if (schema.contains("oneOf")) {
      int matches = 0;
      for (const Json& option : schema["oneOf"]) matches += check(value, option, where).empty() ? 1 : 0;
      if (matches != 1) problems.push_back(where + ": matches " + std::to_string(matches) + " of oneOf");
      return;
    }
    const std::string type = schema.value("type", "");
    const auto fail = [&](const std::string& what) { problems.push_back(where + ": " + what + ", got " + dump_json(value)); };
    if (type == "object" && !value.is_object()) return fail("not an object");
    if (type == "array" && !value.is_array()) return fail("not an array");
    if (type == "string" && !value.is_string()) return fail("not a string");
    if (type == "integer" && !value.is_number_integer()) return fail("not an integer");
    if (type == "number" && !value.is_number()) return fail("not a number");
    if (type == "boolean" && !value.is_boolean()) return fail("not a boolean");
    if (schema.contains("enum")) {
      bool found = false;
      for (const Json& option : schema["enum"]) found = found || option == value;
      if (!found) fail("not one of " + dump_json(schema["enum"]));
    }
    if (value.is_object()) {
      for (const Json& name : schema.value("required", Json::array())) {
        if (!value.contains(name.get<std::string>())) problems.push_back(where + ": missing " + name.get<std::string>());
      }
      const Json properties = schema.value("properties", Json::object());
      for (const auto& [key, child] : value.items()) {
        if (properties.contains(key)) {
          check_into(child, properties[key], where + "." + key, problems);
        } else if (schema.contains("additionalProperties") && schema["additionalProperties"] == false) {
          problems.push_back(where + ": property '" + key + "' is not in the document");
        }
      }
    }
    if (value.is_array() && schema.contains("items")) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        check_into(value[i], schema["items"], where + "[" + std::to_string(i) + "]", problems);
      }
    }
  }

  Json document_;
};

}  // namespace airlock::testing
