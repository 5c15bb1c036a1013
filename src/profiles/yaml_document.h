// YAML documents as a small tree of nodes that remember their line and column, built on
// libyaml's event parser. Manifests come from outside, so the loader is defensive: nesting
// depth, node count, alias expansion and size are bounded, and every error names
// file:line:column.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace airlock::profiles {

enum class YamlKind { kScalar, kSequence, kMapping };

// How a scalar was written. Only plain scalars are subject to YAML's type resolution
// (`1` is a number, `true` a boolean); quoted and block scalars are always strings.
enum class YamlStyle { kPlain, kQuoted, kBlock };

// What a scalar means under the YAML 1.2 core schema.
enum class YamlScalarType { kString, kNull, kBool, kInt, kFloat };

struct YamlMark {
  int line = 0;    // 1-based
  int column = 0;  // 1-based
};

struct YamlNode;
using YamlNodePtr = std::shared_ptr<const YamlNode>;

struct YamlNode {
  YamlKind kind = YamlKind::kScalar;
  // The resolved tag: "!workspace", "!name", "tag:yaml.org,2002:str", or "" when none was written.
  std::string tag;
  std::string scalar;
  YamlStyle style = YamlStyle::kPlain;
  YamlMark mark;
  std::vector<YamlNodePtr> items;                            // kSequence
  std::vector<std::pair<YamlNodePtr, YamlNodePtr>> entries;  // kMapping, in document order

  bool is_scalar() const { return kind == YamlKind::kScalar; }
  bool is_sequence() const { return kind == YamlKind::kSequence; }
  bool is_mapping() const { return kind == YamlKind::kMapping; }
  // Core-schema type of a scalar (an explicit !!str tag makes anything a string).
  YamlScalarType scalar_type() const;
  bool is_null() const { return is_scalar() && scalar_type() == YamlScalarType::kNull; }

  // The value for a scalar key in a mapping, or nullptr.
  const YamlNode* find(std::string_view key) const;
};

// "mapping", "sequence", "string", "number", "boolean", "null": for error messages.
std::string_view yaml_type_name(const YamlNode& node);

struct YamlLimits {
  std::size_t max_bytes = 64u << 20;       // whole document
  std::size_t max_depth = 64;              // nesting of mappings and sequences
  std::size_t max_nodes = 2'000'000;       // nodes as written
  std::size_t max_expanded_nodes = 4'000'000;  // nodes counting every alias use (alias bombs)
};

struct YamlDocument {
  std::string source;  // file name used in errors
  YamlNodePtr root;    // a null scalar for an empty document

  // "source:line:column"
  std::string where(const YamlNode& node) const;
  // A kParse error "source:line:column: message".
  Error error_at(const YamlNode& node, std::string_view message) const;
};

// Parses exactly one YAML document (an empty stream is an empty document; a second document is
// an error). Duplicate keys in a mapping are an error.
Result<YamlDocument> parse_yaml(std::string_view text, std::string_view source, const YamlLimits& limits = {});

}  // namespace airlock::profiles
