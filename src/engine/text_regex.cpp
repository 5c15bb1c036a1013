#include "engine/text_regex.h"

#include <fmt/format.h>

#include <functional>
#include <optional>

#include "engine/unicode.h"

namespace airlock::engine {

namespace {

using unicode::Category;

// A property test: a set of general categories, or one of the special classes.
struct Property {
  enum Kind { kCategories, kSpace, kDigit, kWord, kAny, kNotNewline } kind = kCategories;
  std::uint32_t categories = 0;  // bit i = Category i
  bool negated = false;
  bool rust = false;  // RegexFlavor::kRust

  Category category_of(char32_t c) const { return rust ? unicode::category_rust(c) : unicode::category(c); }

  bool test(char32_t c) const {
    bool result = false;
    switch (kind) {
      case kCategories:
        result = (categories >> static_cast<unsigned>(category_of(c))) & 1u;
        break;
      case kSpace:
        result = unicode::is_whitespace(c);
        break;
      case kDigit:
        result = category_of(c) == Category::kNd;
        break;
      case kWord: {
        if (rust) {
          result = unicode::is_rust_word(c);
        } else {
          Category cat = unicode::category(c);
          result = unicode::is_letter(cat) || unicode::is_mark(cat) || cat == Category::kNd || cat == Category::kPc;
        }
        break;
      }
      case kAny:
        result = true;
        break;
      case kNotNewline:
        result = c != '\n';
        break;
    }
    return result != negated;
  }
};

struct CharClass {
  bool negated = false;
  bool case_insensitive = false;
  std::vector<std::pair<char32_t, char32_t>> ranges;
  std::vector<Property> properties;

  bool test_exact(char32_t c) const {
    for (auto [lo, hi] : ranges) {
      if (c >= lo && c <= hi) return true;
    }
    for (const Property& p : properties) {
      if (p.test(c)) return true;
    }
    return false;
  }
  bool test(char32_t c) const {
    bool hit = test_exact(c);
    if (!hit && case_insensitive) {
      std::u32string lower;
      unicode::append_lowercase(c, lower);
      if (lower.size() == 1 && lower[0] != c) hit = test_exact(lower[0]);
      if (!hit) {
        // Also try the upper-case form of an ASCII letter (enough for the patterns tokenizers use).
        if (c >= 'a' && c <= 'z') hit = test_exact(c - 32);
      }
    }
    return hit != negated;
  }
};

}  // namespace

struct RegexNode {
  enum Kind { kEmpty, kChar, kSequence, kAlternation, kRepeat, kLookahead, kLineStart, kLineEnd, kTextStart, kTextEnd };
  Kind kind = kEmpty;
  CharClass char_class;
  std::vector<std::unique_ptr<RegexNode>> children;
  int min = 0, max = -1;
  bool greedy = true;
  bool negative = false;  // (?!..)
};

namespace {

constexpr int kMaxRepeat = 100000;
constexpr int kMaxNesting = 64;
// A pattern from a file must not hang us: past this many steps at one position, a search gives
// up there (nested quantifiers can backtrack exponentially).
constexpr std::size_t kMaxSteps = 1'000'000;

class Parser {
 public:
  Parser(std::u32string pattern, RegexFlavor flavor) : p_(std::move(pattern)), rust_(flavor == RegexFlavor::kRust) {}

  Result<std::unique_ptr<RegexNode>> parse() {
    AIRLOCK_ASSIGN_OR_RETURN(auto node, alternation(false));
    if (i_ != p_.size()) return fail("unbalanced ')'");
    return node;
  }

 private:
  Error fail(std::string_view what) const {
    return parse_error(fmt::format("regex \"{}\": {} at position {}", unicode::encode_utf8(p_), what, i_));
  }
  bool more() const { return i_ < p_.size(); }
  char32_t peek() const { return p_[i_]; }

  Result<std::unique_ptr<RegexNode>> alternation(bool case_insensitive) {
    auto alt = std::make_unique<RegexNode>();
    alt->kind = RegexNode::kAlternation;
    while (true) {
      AIRLOCK_ASSIGN_OR_RETURN(auto seq, sequence(case_insensitive));
      alt->children.push_back(std::move(seq));
      if (more() && peek() == '|') {
        ++i_;
        continue;
      }
      break;
    }
    if (alt->children.size() == 1) return std::move(alt->children[0]);
    return alt;
  }

  Result<std::unique_ptr<RegexNode>> sequence(bool case_insensitive) {
    auto seq = std::make_unique<RegexNode>();
    seq->kind = RegexNode::kSequence;
    while (more() && peek() != '|' && peek() != ')') {
      AIRLOCK_ASSIGN_OR_RETURN(auto item, atom(case_insensitive));
      AIRLOCK_ASSIGN_OR_RETURN(item, quantifier(std::move(item)));
      seq->children.push_back(std::move(item));
    }
    return seq;
  }

  Result<int> number() {
    if (!more() || peek() < '0' || peek() > '9') return fail("expected a number");
    int value = 0;
    while (more() && peek() >= '0' && peek() <= '9') {
      value = value * 10 + static_cast<int>(peek() - '0');
      if (value > kMaxRepeat) return fail("repetition count too large");
      ++i_;
    }
    return value;
  }

  Result<std::unique_ptr<RegexNode>> quantifier(std::unique_ptr<RegexNode> item) {
    if (!more()) return item;
    int min = 0, max = -1;
    char32_t c = peek();
    if (c == '?') {
      max = 1;
    } else if (c == '*') {
    } else if (c == '+') {
      min = 1;
    } else if (c == '{') {
      std::size_t save = i_;
      ++i_;
      if (!more() || peek() < '0' || peek() > '9') {
        i_ = save;  // a literal '{'
        return item;
      }
      AIRLOCK_ASSIGN_OR_RETURN(min, number());
      max = min;
      if (more() && peek() == ',') {
        ++i_;
        max = -1;
        if (more() && peek() != '}') {
          AIRLOCK_ASSIGN_OR_RETURN(max, number());
        }
      }
      if (!more() || peek() != '}') return fail("expected '}'");
      if (max >= 0 && max < min) return fail("bad repetition range");
    } else {
      return item;
    }
    ++i_;
    if (item->kind == RegexNode::kLookahead || item->kind == RegexNode::kLineStart || item->kind == RegexNode::kLineEnd) {
      return fail("nothing to repeat");
    }
    auto repeat = std::make_unique<RegexNode>();
    repeat->kind = RegexNode::kRepeat;
    repeat->min = min;
    repeat->max = max;
    if (more() && peek() == '?') {
      repeat->greedy = false;
      ++i_;
    } else if (more() && peek() == '+') {
      return fail("possessive quantifiers are not supported");
    }
    repeat->children.push_back(std::move(item));
    return repeat;
  }

  Result<Property> property(bool negated) {
    // After \p or \P: {Name} or a single letter.
    std::u32string name;
    if (more() && peek() == '{') {
      ++i_;
      while (more() && peek() != '}') name.push_back(p_[i_++]);
      if (!more()) return fail("unterminated \\p{");
      ++i_;
    } else if (more()) {
      name.push_back(p_[i_++]);
    }
    if (!name.empty() && name[0] == '^') {
      negated = !negated;
      name.erase(0, 1);
    }
    static const char* kNames[] = {"Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd",
                                   "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf",
                                   "Cs", "Co"};
    std::string ascii = unicode::encode_utf8(name);
    static const std::pair<const char*, const char*> kLong[] = {
        {"Letter", "L"}, {"Mark", "M"}, {"Number", "N"}, {"Punctuation", "P"}, {"Symbol", "S"},
        {"Separator", "Z"}, {"Other", "C"}};
    for (auto [long_name, short_name] : kLong) {
      if (ascii == long_name) ascii = short_name;
    }
    Property p;
    p.negated = negated;
    p.rust = rust_;
    for (std::uint32_t index = 0; index < 30; ++index) {
      std::string_view cat = kNames[index];
      if (ascii == cat || (ascii.size() == 1 && cat[0] == ascii[0])) p.categories |= 1u << index;
    }
    if (p.categories == 0) return fail(fmt::format("unknown property \\p{{{}}}", ascii));
    return p;
  }

  // An escape inside or outside a class: adds to `cls`, or returns the literal character.
  Result<std::optional<char32_t>> escape(CharClass& cls) {
    if (!more()) return fail("trailing backslash");
    char32_t c = p_[i_++];
    auto add = [&](Property::Kind kind, bool negated) {
      Property p;
      p.kind = kind;
      p.negated = negated;
      p.rust = rust_;
      cls.properties.push_back(p);
    };
    switch (c) {
      case 's': add(Property::kSpace, false); return std::optional<char32_t>();
      case 'S': add(Property::kSpace, true); return std::optional<char32_t>();
      case 'd': add(Property::kDigit, false); return std::optional<char32_t>();
      case 'D': add(Property::kDigit, true); return std::optional<char32_t>();
      case 'w': add(Property::kWord, false); return std::optional<char32_t>();
      case 'W': add(Property::kWord, true); return std::optional<char32_t>();
      case 'p':
      case 'P': {
        AIRLOCK_ASSIGN_OR_RETURN(Property p, property(c == 'P'));
        cls.properties.push_back(p);
        return std::optional<char32_t>();
      }
      case 'n': return std::optional<char32_t>(U'\n');
      case 'r': return std::optional<char32_t>(U'\r');
      case 't': return std::optional<char32_t>(U'\t');
      case 'f': return std::optional<char32_t>(U'\f');
      case 'v': return std::optional<char32_t>(U'\v');
      case '0': return std::optional<char32_t>(U'\0');
      case 'x':
      case 'u': {
        std::u32string digits;
        if (more() && peek() == '{') {
          ++i_;
          while (more() && peek() != '}') digits.push_back(p_[i_++]);
          if (!more()) return fail("unterminated \\x{");
          ++i_;
        } else {
          int count = c == 'x' ? 2 : 4;
          for (int k = 0; k < count && more(); ++k) digits.push_back(p_[i_++]);
        }
        char32_t value = 0;
        if (digits.empty() || digits.size() > 6) return fail("bad hexadecimal escape");
        for (char32_t d : digits) {
          int v = d >= '0' && d <= '9' ? static_cast<int>(d - '0')
                  : d >= 'a' && d <= 'f' ? static_cast<int>(d - 'a' + 10)
                  : d >= 'A' && d <= 'F' ? static_cast<int>(d - 'A' + 10)
                                         : -1;
          if (v < 0) return fail("bad hexadecimal escape");
          value = value * 16 + static_cast<char32_t>(v);
        }
        return std::optional<char32_t>(value);
      }
      default:
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
          return fail(fmt::format("unsupported escape \\{}", static_cast<char>(c)));
        }
        return std::optional<char32_t>(c);
    }
  }

  Result<std::unique_ptr<RegexNode>> char_class(bool case_insensitive) {
    // After '['.
    auto node = std::make_unique<RegexNode>();
    node->kind = RegexNode::kChar;
    CharClass& cls = node->char_class;
    cls.case_insensitive = case_insensitive;
    if (more() && peek() == '^') {
      cls.negated = true;
      ++i_;
    }
    bool first = true;
    while (true) {
      if (!more()) return fail("unterminated character class");
      char32_t c = p_[i_];
      if (c == ']' && !first) {
        ++i_;
        break;
      }
      first = false;
      if (c == '[') return fail("nested character classes are not supported");
      std::optional<char32_t> low;
      ++i_;
      if (c == '\\') {
        AIRLOCK_ASSIGN_OR_RETURN(low, escape(cls));
        if (!low) continue;
      } else {
        low = c;
      }
      if (more() && peek() == '-' && i_ + 1 < p_.size() && p_[i_ + 1] != ']') {
        ++i_;
        char32_t hc = p_[i_++];
        std::optional<char32_t> high;
        if (hc == '\\') {
          CharClass ignored;
          AIRLOCK_ASSIGN_OR_RETURN(high, escape(ignored));
          if (!high) return fail("bad class range");
        } else {
          high = hc;
        }
        if (*high < *low) return fail("bad class range");
        cls.ranges.emplace_back(*low, *high);
      } else {
        cls.ranges.emplace_back(*low, *low);
      }
    }
    return node;
  }

  Result<std::unique_ptr<RegexNode>> atom(bool case_insensitive) {
    char32_t c = p_[i_++];
    auto node = std::make_unique<RegexNode>();
    switch (c) {
      case '(': {
        if (++depth_ > kMaxNesting) return fail("groups nested too deeply");
        bool insensitive = case_insensitive;
        if (more() && peek() == '?') {
          ++i_;
          if (!more()) return fail("unterminated group");
          char32_t kind = p_[i_++];
          if (kind == '=' || kind == '!') {
            node->kind = RegexNode::kLookahead;
            node->negative = kind == '!';
          } else if (kind == ':') {
            node->kind = RegexNode::kSequence;
          } else if (kind == 'i' && more() && peek() == ':') {
            ++i_;
            insensitive = true;
            node->kind = RegexNode::kSequence;
          } else {
            return fail("unsupported group kind");
          }
        } else {
          node->kind = RegexNode::kSequence;
        }
        AIRLOCK_ASSIGN_OR_RETURN(auto inner, alternation(insensitive));
        if (!more() || peek() != ')') return fail("missing ')'");
        ++i_;
        --depth_;
        node->children.push_back(std::move(inner));
        return node;
      }
      case '[':
        return char_class(case_insensitive);
      case '.': {
        node->kind = RegexNode::kChar;
        Property p;
        p.kind = Property::kNotNewline;
        node->char_class.properties.push_back(p);
        return node;
      }
      case '^':
        node->kind = RegexNode::kLineStart;
        return node;
      case '$':
        node->kind = RegexNode::kLineEnd;
        return node;
      case '\\': {
        if (more() && (peek() == 'A' || peek() == 'z' || peek() == 'Z')) {
          node->kind = peek() == 'A' ? RegexNode::kTextStart : RegexNode::kTextEnd;
          ++i_;
          return node;
        }
        node->kind = RegexNode::kChar;
        node->char_class.case_insensitive = case_insensitive;
        AIRLOCK_ASSIGN_OR_RETURN(std::optional<char32_t> literal, escape(node->char_class));
        if (literal) node->char_class.ranges.emplace_back(*literal, *literal);
        return node;
      }
      case '*':
      case '+':
      case '?':
        return fail("nothing to repeat");
      default:
        node->kind = RegexNode::kChar;
        node->char_class.case_insensitive = case_insensitive;
        node->char_class.ranges.emplace_back(c, c);
        return node;
    }
  }

  std::u32string p_;
  std::size_t i_ = 0;
  bool rust_ = false;
  int depth_ = 0;
};

using Continuation = std::function<bool(std::size_t)>;

class Matcher {
 public:
  explicit Matcher(std::u32string_view text) : text_(text) {}

  void reset_budget() { steps_ = 0; }

  bool match(const RegexNode* node, std::size_t pos, const Continuation& next) const {
    if (++steps_ > kMaxSteps) return false;
    switch (node->kind) {
      case RegexNode::kEmpty:
        return next(pos);
      case RegexNode::kChar:
        return pos < text_.size() && node->char_class.test(text_[pos]) && next(pos + 1);
      case RegexNode::kSequence:
        return match_sequence(node, 0, pos, next);
      case RegexNode::kAlternation:
        for (const auto& child : node->children) {
          if (match(child.get(), pos, next)) return true;
        }
        return false;
      case RegexNode::kRepeat:
        if (node->children[0]->kind == RegexNode::kChar) return match_char_repeat(node, pos, next);
        return match_repeat(node, 0, pos, std::string::npos, next);
      case RegexNode::kLookahead: {
        bool found = match(node->children[0].get(), pos, [](std::size_t) { return true; });
        return found != node->negative && next(pos);
      }
      case RegexNode::kLineStart:
        return (pos == 0 || text_[pos - 1] == '\n') && next(pos);
      case RegexNode::kLineEnd:
        return (pos == text_.size() || text_[pos] == '\n') && next(pos);
      case RegexNode::kTextStart:
        return pos == 0 && next(pos);
      case RegexNode::kTextEnd:
        return pos == text_.size() && next(pos);
    }
    return false;
  }

 private:
  bool match_sequence(const RegexNode* node, std::size_t index, std::size_t pos, const Continuation& next) const {
    if (index == node->children.size()) return next(pos);
    return match(node->children[index].get(), pos,
                 [&](std::size_t after) { return match_sequence(node, index + 1, after, next); });
  }

  // A repeated single character class: no recursion per iteration, so long runs are cheap.
  bool match_char_repeat(const RegexNode* node, std::size_t pos, const Continuation& next) const {
    const CharClass& cls = node->children[0]->char_class;
    std::size_t limit = node->max < 0 ? text_.size() - pos : std::min<std::size_t>(node->max, text_.size() - pos);
    std::size_t run = 0;
    while (run < limit && cls.test(text_[pos + run])) ++run;
    auto min = static_cast<std::size_t>(node->min);
    if (run < min) return false;
    if (node->greedy) {
      for (std::size_t k = run + 1; k-- > min;) {
        if (next(pos + k)) return true;
      }
    } else {
      for (std::size_t k = min; k <= run; ++k) {
        if (next(pos + k)) return true;
      }
    }
    return false;
  }

  bool match_repeat(const RegexNode* node, int count, std::size_t pos, std::size_t last, const Continuation& next) const {
    bool can_stop = count >= node->min;
    bool can_go = (node->max < 0 || count < node->max) && pos != last;  // no progress: stop looping
    auto more = [&] {
      return can_go && match(node->children[0].get(), pos,
                             [&](std::size_t after) { return match_repeat(node, count + 1, after, pos, next); });
    };
    if (node->greedy) return more() || (can_stop && next(pos));
    return (can_stop && next(pos)) || more();
  }

  std::u32string_view text_;
  mutable std::size_t steps_ = 0;
};

}  // namespace

TextPattern::TextPattern(TextPattern&&) noexcept = default;
TextPattern& TextPattern::operator=(TextPattern&&) noexcept = default;
TextPattern::~TextPattern() = default;

Result<TextPattern> TextPattern::literal(std::u32string text) {
  if (text.empty()) return parse_error("empty pattern");
  TextPattern pattern;
  pattern.literal_ = std::move(text);
  return pattern;
}

Result<TextPattern> TextPattern::regex(std::string_view source, RegexFlavor flavor) {
  Parser parser(unicode::decode_utf8(source), flavor);
  AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<RegexNode> node, parser.parse());
  TextPattern pattern;
  pattern.regex_ = std::shared_ptr<const RegexNode>(std::move(node));
  return pattern;
}

Result<TextPattern> TextPattern::from_json(const JsonValue& json) {
  if (json.is_object() && json.contains("String") && json.at("String").is_string()) {
    return literal(unicode::decode_utf8(json.at("String").get<std::string>()));
  }
  if (json.is_object() && json.contains("Regex") && json.at("Regex").is_string()) {
    return regex(json.at("Regex").get<std::string>());
  }
  return parse_error("pattern: expected {\"String\": ...} or {\"Regex\": ...}");
}

void TextPattern::find_all(std::u32string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const {
  out.clear();
  if (!literal_.empty()) {
    std::size_t pos = 0;
    while ((pos = text.find(literal_, pos)) != std::u32string_view::npos) {
      out.emplace_back(pos, pos + literal_.size());
      pos += literal_.size();
    }
    return;
  }
  if (!regex_) return;
  Matcher matcher(text);
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = std::string::npos;
    matcher.reset_budget();
    bool found = matcher.match(regex_.get(), start, [&](std::size_t after) {
      end = after;
      return true;
    });
    if (found && end > start) {
      out.emplace_back(start, end);
      start = end;
    } else {
      ++start;
    }
  }
}

}  // namespace airlock::engine
