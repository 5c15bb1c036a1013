#include "profiles/yaml_document.h"

#include <gtest/gtest.h>

#include <string>

namespace airlock::profiles {
namespace {

TEST(Yaml, TreeWithMarksTagsAndStyles) {
  auto doc = parse_yaml("a: 1\nb: '1'\nc: !name x\nlist:\n  - one\n  - {k: v}\n", "t.yaml");
  ASSERT_TRUE(doc.ok()) << doc.error().message();
  const YamlNode& root = *doc->root;
  ASSERT_TRUE(root.is_mapping());
  EXPECT_EQ(root.find("a")->scalar_type(), YamlScalarType::kInt);
  EXPECT_EQ(root.find("b")->scalar_type(), YamlScalarType::kString);
  EXPECT_EQ(root.find("c")->tag, "!name");
  EXPECT_EQ(root.find("c")->scalar, "x");
  const YamlNode* list = root.find("list");
  ASSERT_TRUE(list->is_sequence());
  ASSERT_EQ(list->items.size(), 2u);
  EXPECT_EQ(list->items[1]->find("k")->scalar, "v");
  EXPECT_EQ(list->items[0]->mark.line, 5);
  EXPECT_EQ(list->items[0]->mark.column, 5);
  EXPECT_EQ(doc->where(*list->items[0]), "t.yaml:5:5");
}

TEST(Yaml, CoreSchemaTypes) {
  auto doc = parse_yaml("[~, null, '', true, False, 12, -3, 0x1f, 1.5, 1e3, .inf, abc, 1.2.3, !!str 5, \"7\"]", "t");
  ASSERT_TRUE(doc.ok());
  std::vector<YamlScalarType> expected = {
      YamlScalarType::kNull, YamlScalarType::kNull, YamlScalarType::kString, YamlScalarType::kBool,
      YamlScalarType::kBool, YamlScalarType::kInt, YamlScalarType::kInt, YamlScalarType::kInt,
      YamlScalarType::kFloat, YamlScalarType::kFloat, YamlScalarType::kFloat, YamlScalarType::kString,
      YamlScalarType::kString, YamlScalarType::kString, YamlScalarType::kString};
  ASSERT_EQ(doc->root->items.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(doc->root->items[i]->scalar_type(), expected[i]) << "item " << i << " '" << doc->root->items[i]->scalar << "'";
  }
}

TEST(Yaml, ErrorsCarryLineAndColumn) {
  auto bad = parse_yaml("a: 1\nb: [1, 2\nc: 3\n", "m.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kParse);
  EXPECT_EQ(bad.error().message().rfind("m.yaml:", 0), 0u) << bad.error().message();
  auto dup = parse_yaml("a: 1\nb: 2\na: 3\n", "m.yaml");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message().find("m.yaml:3:1: duplicate key 'a'"), std::string::npos) << dup.error().message();
  auto two = parse_yaml("a: 1\n---\nb: 2\n", "m.yaml");
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.error().message().find("more than one YAML document"), std::string::npos);
}

TEST(Yaml, AliasesResolveAndBombsAreStopped) {
  auto doc = parse_yaml("base: &b {x: 1}\nother: *b\n", "t");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->root->find("other")->find("x")->scalar, "1");
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'k'; ++c) {
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", *" : "*") + prev;
    bomb += "]\n";
    prev = c;
  }
  auto exploded = parse_yaml(bomb, "bomb.yaml");
  ASSERT_FALSE(exploded.ok());
  EXPECT_NE(exploded.error().message().find("alias"), std::string::npos) << exploded.error().message();
  EXPECT_FALSE(parse_yaml("a: *missing\n", "t").ok());
}

TEST(Yaml, DeepNestingIsAnErrorNotACrash) {
  std::string deep(100000, '[');
  auto result = parse_yaml(deep, "deep.yaml");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message().find("deep.yaml:"), std::string::npos);
}

TEST(Yaml, GarbageAndLimits) {
  std::string garbage;
  for (int i = 0; i < 200000; ++i) garbage += static_cast<char>((i * 7919) % 251 + 1);
  EXPECT_FALSE(parse_yaml(garbage, "g").ok());
  YamlLimits limits;
  limits.max_bytes = 10;
  auto big = parse_yaml("key: a long value", "g", limits);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code(), ErrorCode::kResourceExhausted);
  auto empty = parse_yaml("", "e");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->root->is_null());
}

}  // namespace
}  // namespace airlock::profiles
