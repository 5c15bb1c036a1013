#include "manager/yaml_writer.h"

#include <gtest/gtest.h>

namespace airlock::manager {
namespace {

TEST(YamlWriter, BlockStyleWithQuotedStrings) {
  Json doc = parse_json(R"({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x", "labels": {"on": "true"}},
      "spec": {"ports": [{"name": "http", "port": 8000}], "args": ["serve", "--port", "8000"], "empty": {}, "none": [],
      "n": null, "flag": false, "text": "line\nbreak \"quoted\""}})", "t").value();
  EXPECT_EQ(to_yaml(doc),
            "apiVersion: \"v1\"\n"
            "kind: \"Secret\"\n"
            "metadata:\n"
            "  name: \"x\"\n"
            "  labels:\n"
            "    \"on\": \"true\"\n"
            "spec:\n"
            "  ports:\n"
            "  - name: \"http\"\n"
            "    port: 8000\n"
            "  args:\n"
            "  - \"serve\"\n"
            "  - \"--port\"\n"
            "  - \"8000\"\n"
            "  empty: {}\n"
            "  none: []\n"
            "  \"n\": null\n"
            "  flag: false\n"
            "  text: \"line\\nbreak \\\"quoted\\\"\"\n");
  EXPECT_EQ(to_yaml_documents({Json{{"a", 1}}, Json{{"b", 2}}}), "---\na: 1\n---\nb: 2\n");
}

TEST(YamlWriter, NestedSequences) {
  Json doc = Json::array({Json::array({1, 2}), Json{{"k", Json::array({Json{{"x", 1}, {"y", 2}}})}}});
  EXPECT_EQ(to_yaml(doc), "-\n  - 1\n  - 2\n- k:\n  - x: 1\n    \"y\": 2\n");
}

}  // namespace
}  // namespace airlock::manager
