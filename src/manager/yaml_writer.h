// JSON values written as block-style YAML, the form people read and `kubectl apply -f` takes.
// Strings are always double-quoted (JSON escapes are valid YAML escapes), so no value is ever
// reinterpreted: "true", "1.10", "on" and "0755" stay strings.
#pragma once

#include <string>
#include <vector>

#include "core/json.h"

namespace airlock::manager {

std::string to_yaml(const Json& value);
// Several documents, each started by "---".
std::string to_yaml_documents(const std::vector<Json>& documents);

}  // namespace airlock::manager
