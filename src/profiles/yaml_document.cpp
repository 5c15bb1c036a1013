#include "profiles/yaml_document.h"

#include <yaml.h>

#include <fmt/format.h>

#include <cctype>
#include <map>
#include <set>

namespace airlock::profiles {
namespace {

constexpr std::string_view kStrTag = "tag:yaml.org,2002:str";

bool is_null_text(std::string_view s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }

bool is_bool_text(std::string_view s) {
  return s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE";
}

bool all_of(std::string_view s, int (*pred)(int)) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!pred(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool is_int_text(std::string_view s) {
  if (s.size() > 2 && s[0] == '0' && s[1] == 'o') {
    for (char c : s.substr(2)) {
      if (c < '0' || c > '7') return false;
    }
    return true;
  }
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x') return all_of(s.substr(2), std::isxdigit);
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  return all_of(s, std::isdigit);
}

bool is_float_text(std::string_view s) {
  static const std::set<std::string_view> kSpecial = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF",
                                                       "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN"};
  if (kSpecial.contains(s)) return true;
  // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  std::size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  bool dot = false;
  if (i < s.size() && s[i] == '.') {
    dot = true;
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  }
  if (digits == 0) return false;
  bool exponent = false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    exponent = true;
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    std::size_t exp_digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size() && (dot || exponent);
}

YamlMark to_mark(const yaml_mark_t& mark) {
  return YamlMark{static_cast<int>(mark.line) + 1, static_cast<int>(mark.column) + 1};
}

std::string event_tag(const unsigned char* tag) { return tag == nullptr ? std::string() : reinterpret_cast<const char*>(tag); }

// Builds the tree from libyaml events with an explicit stack (no recursion: hostile nesting
// cannot overflow the C++ stack).
class TreeBuilder {
 public:
  TreeBuilder(std::string_view source, const YamlLimits& limits) : source_(source), limits_(limits) {}

  Result<YamlDocument> build(std::string_view text) {
    if (text.size() > limits_.max_bytes) {
      return Error(ErrorCode::kResourceExhausted,
                   fmt::format("{}: YAML document of {} bytes exceeds the limit of {} bytes", source_, text.size(),
                               limits_.max_bytes));
    }
    yaml_parser_t parser;
    if (yaml_parser_initialize(&parser) == 0) return internal_error("cannot initialise the YAML parser");
    yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    Status status = run(parser);
    yaml_parser_delete(&parser);
    if (!status.ok()) return std::move(status).error();
    YamlDocument document;
    document.source = std::string(source_);
    if (root_) {
      document.root = std::move(root_);
    } else {
      auto empty = std::make_shared<YamlNode>();
      empty->mark = {1, 1};
      document.root = std::move(empty);
    }
    return document;
  }

 private:
  struct Frame {
    std::shared_ptr<YamlNode> node;
    std::string anchor;
    YamlNodePtr pending_key;   // mappings: a key waiting for its value
    std::set<std::string> keys;  // mappings: scalar keys seen, for duplicate detection
    std::size_t expanded = 1;  // nodes below, counting alias uses
  };

  Error error_at(YamlMark mark, std::string_view message) const {
    return parse_error(fmt::format("{}:{}:{}: {}", source_, mark.line, mark.column, message));
  }

  Status run(yaml_parser_t& parser) {
    int documents = 0;
    while (true) {
      yaml_event_t event;
      if (yaml_parser_parse(&parser, &event) == 0) {
        YamlMark mark = to_mark(parser.problem_mark);
        std::string problem = parser.problem != nullptr ? parser.problem : "invalid YAML";
        if (parser.context != nullptr) {
          // Where the construct that failed began is often where the mistake is.
          YamlMark start = to_mark(parser.context_mark);
          problem = fmt::format("{} {} (started at line {}, column {})", problem, parser.context, start.line, start.column);
        }
        return error_at(mark, fmt::format("malformed YAML: {}", problem));
      }
      Status status = handle(event, documents);
      bool done = event.type == YAML_STREAM_END_EVENT;
      yaml_event_delete(&event);
      if (!status.ok()) return status;
      if (done) return ok_status();
    }
  }

  Status handle(const yaml_event_t& event, int& documents) {
    YamlMark mark = to_mark(event.start_mark);
    switch (event.type) {
      case YAML_DOCUMENT_START_EVENT:
        if (++documents > 1) return error_at(mark, "more than one YAML document; a manifest is a single document");
        return ok_status();
      case YAML_SCALAR_EVENT: {
        auto node = std::make_shared<YamlNode>();
        node->kind = YamlKind::kScalar;
        node->mark = mark;
        node->tag = event_tag(event.data.scalar.tag);
        node->scalar.assign(reinterpret_cast<const char*>(event.data.scalar.value), event.data.scalar.length);
        switch (event.data.scalar.style) {
          case YAML_PLAIN_SCALAR_STYLE:
          case YAML_ANY_SCALAR_STYLE: node->style = YamlStyle::kPlain; break;
          case YAML_SINGLE_QUOTED_SCALAR_STYLE:
          case YAML_DOUBLE_QUOTED_SCALAR_STYLE: node->style = YamlStyle::kQuoted; break;
          default: node->style = YamlStyle::kBlock; break;
        }
        return add(node, event_tag(event.data.scalar.anchor), 1);
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        if (stack_.size() >= limits_.max_depth) {
          return error_at(mark, fmt::format("nesting deeper than {} levels", limits_.max_depth));
        }
        auto node = std::make_shared<YamlNode>();
        bool is_sequence = event.type == YAML_SEQUENCE_START_EVENT;
        node->kind = is_sequence ? YamlKind::kSequence : YamlKind::kMapping;
        node->mark = mark;
        node->tag = event_tag(is_sequence ? event.data.sequence_start.tag : event.data.mapping_start.tag);
        AIRLOCK_TRY(count_node(mark));
        Frame frame;
        frame.node = node;
        frame.anchor = event_tag(is_sequence ? event.data.sequence_start.anchor : event.data.mapping_start.anchor);
        stack_.push_back(std::move(frame));
        return ok_status();
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        Frame frame = std::move(stack_.back());
        stack_.pop_back();
        return attach(frame.node, frame.anchor, frame.expanded);
      }
      case YAML_ALIAS_EVENT: {
        std::string anchor = event_tag(event.data.alias.anchor);
        auto found = anchors_.find(anchor);
        if (found == anchors_.end()) return error_at(mark, fmt::format("unknown alias '*{}'", anchor));
        return attach(found->second.first, "", found->second.second);
      }
      default:
        return ok_status();
    }
  }

  Status count_node(YamlMark mark) {
    if (++nodes_ > limits_.max_nodes) {
      return error_at(mark, fmt::format("more than {} YAML nodes", limits_.max_nodes));
    }
    return ok_status();
  }

  Status add(const std::shared_ptr<YamlNode>& node, const std::string& anchor, std::size_t expanded) {
    AIRLOCK_TRY(count_node(node->mark));
    return attach(node, anchor, expanded);
  }

  // Places a finished node into its parent (or as the root).
  Status attach(const YamlNodePtr& node, const std::string& anchor, std::size_t expanded) {
    if (!anchor.empty()) anchors_[anchor] = {node, expanded};
    if (stack_.empty()) {
      root_ = node;
      return ok_status();
    }
    Frame& parent = stack_.back();
    parent.expanded += expanded;
    if (parent.expanded > limits_.max_expanded_nodes) {
      return error_at(node->mark, "aliases expand to too many nodes (an alias bomb?)");
    }
    YamlNode& container = *parent.node;
    if (container.kind == YamlKind::kSequence) {
      container.items.push_back(node);
      return ok_status();
    }
    if (!parent.pending_key) {
      if (node->is_scalar()) {
        if (!parent.keys.insert(node->scalar).second) {
          return error_at(node->mark, fmt::format("duplicate key '{}'", node->scalar));
        }
      }
      parent.pending_key = node;
      return ok_status();
    }
    container.entries.emplace_back(std::move(parent.pending_key), node);
    parent.pending_key.reset();
    return ok_status();
  }

  std::string_view source_;
  const YamlLimits& limits_;
  std::vector<Frame> stack_;
  std::map<std::string, std::pair<YamlNodePtr, std::size_t>> anchors_;
  YamlNodePtr root_;
  std::size_t nodes_ = 0;
};

}  // namespace

YamlScalarType YamlNode::scalar_type() const {
  if (kind != YamlKind::kScalar || style != YamlStyle::kPlain || tag == kStrTag) return YamlScalarType::kString;
  if (is_null_text(scalar)) return YamlScalarType::kNull;
  if (is_bool_text(scalar)) return YamlScalarType::kBool;
  if (is_int_text(scalar)) return YamlScalarType::kInt;
  if (is_float_text(scalar)) return YamlScalarType::kFloat;
  return YamlScalarType::kString;
}

const YamlNode* YamlNode::find(std::string_view key) const {
  if (kind != YamlKind::kMapping) return nullptr;
  for (const auto& [k, v] : entries) {
    if (k->is_scalar() && k->scalar == key) return v.get();
  }
  return nullptr;
}

std::string_view yaml_type_name(const YamlNode& node) {
  switch (node.kind) {
    case YamlKind::kMapping: return "mapping";
    case YamlKind::kSequence: return "sequence";
    case YamlKind::kScalar: break;
  }
  switch (node.scalar_type()) {
    case YamlScalarType::kNull: return "null";
    case YamlScalarType::kBool: return "boolean";
    case YamlScalarType::kInt:
    case YamlScalarType::kFloat: return "number";
    case YamlScalarType::kString: break;
  }
  return "string";
}

std::string YamlDocument::where(const YamlNode& node) const {
  return fmt::format("{}:{}:{}", source, node.mark.line, node.mark.column);
}

Error YamlDocument::error_at(const YamlNode& node, std::string_view message) const {
  return parse_error(fmt::format("{}: {}", where(node), message));
}

Result<YamlDocument> parse_yaml(std::string_view text, std::string_view source, const YamlLimits& limits) {
  TreeBuilder builder(source, limits);
  return builder.build(text);
}

}  // namespace airlock::profiles
