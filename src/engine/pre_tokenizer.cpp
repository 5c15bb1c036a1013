#include "engine/pre_tokenizer.h"

#include <fmt/format.h>

#include <array>
#include <functional>

#include "engine/text_regex.h"
#include "engine/unicode.h"

namespace airlock::engine {
namespace {

using unicode::Category;

enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

Result<Behavior> parse_behavior(const JsonValue& json) {
  std::string name = json.is_string() ? json.get<std::string>() : "";
  if (name == "Removed") return Behavior::kRemoved;
  if (name == "Isolated") return Behavior::kIsolated;
  if (name == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::kMergedWithNext;
  if (name == "Contiguous") return Behavior::kContiguous;
  return parse_error(fmt::format("unknown split behavior \"{}\"", name));
}

struct Span {
  std::size_t begin, end;
  bool is_match;
};

// Spans covering a piece: the matches (is_match) and the text between them.
std::vector<Span> spans_of(std::size_t length, const std::vector<std::pair<std::size_t, std::size_t>>& matches,
                           bool invert) {
  std::vector<Span> spans;
  std::size_t last = 0;
  for (auto [b, e] : matches) {
    if (b > last) spans.push_back({last, b, invert});
    spans.push_back({b, e, !invert});
    last = e;
  }
  if (last < length) spans.push_back({last, length, invert});
  return spans;
}

// Splits one piece given its spans, with `tokenizers`' behaviours.
void split_piece(const PreToken& piece, const std::vector<Span>& spans, Behavior behavior, std::vector<PreToken>& out) {
  std::vector<Span> result;  // is_match here means "remove"
  switch (behavior) {
    case Behavior::kIsolated:
      for (const Span& s : spans) result.push_back({s.begin, s.end, false});
      break;
    case Behavior::kRemoved:
      result = spans;
      break;
    case Behavior::kContiguous: {
      bool previous_match = false;
      for (const Span& s : spans) {
        if (s.is_match && previous_match && !result.empty()) {
          result.back().end = s.end;
        } else {
          result.push_back({s.begin, s.end, false});
        }
        previous_match = s.is_match;
      }
      break;
    }
    case Behavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const Span& s : spans) {
        if (s.is_match && !previous_match && !result.empty()) {
          result.back().end = s.end;
        } else {
          result.push_back({s.begin, s.end, false});
        }
        previous_match = s.is_match;
      }
      break;
    }
    case Behavior::kMergedWithNext: {
      bool previous_match = false;
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !result.empty()) {
          result.back().begin = it->begin;
        } else {
          result.push_back({it->begin, it->end, false});
        }
        previous_match = it->is_match;
      }
      std::reverse(result.begin(), result.end());
      break;
    }
  }
  for (const Span& s : result) {
    if (s.is_match || s.end == s.begin) continue;
    out.push_back({piece.text.substr(s.begin, s.end - s.begin), piece.at_start && s.begin == 0});
  }
}

void split_piece(const PreToken& piece, const std::vector<std::pair<std::size_t, std::size_t>>& matches,
                 Behavior behavior, std::vector<PreToken>& out) {
  split_piece(piece, spans_of(piece.text.size(), matches, false), behavior, out);
}

using CharPredicate = std::function<bool(char32_t)>;

void char_matches(std::u32string_view text, const CharPredicate& predicate,
                  std::vector<std::pair<std::size_t, std::size_t>>& matches) {
  matches.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (predicate(text[i])) matches.emplace_back(i, i + 1);
  }
}

void split_all(std::vector<PreToken>& pieces, const CharPredicate& predicate, Behavior behavior) {
  std::vector<PreToken> out;
  std::vector<std::pair<std::size_t, std::size_t>> matches;
  for (const PreToken& piece : pieces) {
    char_matches(piece.text, predicate, matches);
    split_piece(piece, matches, behavior, out);
  }
  pieces.swap(out);
}

bool is_ascii_punctuation(char32_t c) {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

bool is_bert_punctuation(char32_t c) {
  return is_ascii_punctuation(c) || unicode::is_punctuation(unicode::category_v8(c));
}

class BertPreTokenizer final : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    split_all(pieces, unicode::is_whitespace, Behavior::kRemoved);
    split_all(pieces, is_bert_punctuation, Behavior::kIsolated);
  }
};

class WhitespaceSplitPreTokenizer final : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    split_all(pieces, unicode::is_whitespace, Behavior::kRemoved);
  }
};

class CharDelimiterPreTokenizer final : public PreTokenizer {
 public:
  explicit CharDelimiterPreTokenizer(char32_t delimiter) : delimiter_(delimiter) {}
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    char32_t d = delimiter_;
    split_all(pieces, [d](char32_t c) { return c == d; }, Behavior::kRemoved);
  }

 private:
  char32_t delimiter_;
};

class PunctuationPreTokenizer final : public PreTokenizer {
 public:
  explicit PunctuationPreTokenizer(Behavior behavior) : behavior_(behavior) {}
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    split_all(pieces, is_bert_punctuation, behavior_);
  }

 private:
  Behavior behavior_;
};

class DigitsPreTokenizer final : public PreTokenizer {
 public:
  explicit DigitsPreTokenizer(bool individual) : individual_(individual) {}
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    split_all(pieces, [](char32_t c) { return unicode::is_number(unicode::category_rust(c)); },
              individual_ ? Behavior::kIsolated : Behavior::kContiguous);
  }

 private:
  bool individual_;
};

class PatternPreTokenizer final : public PreTokenizer {
 public:
  PatternPreTokenizer(TextPattern pattern, Behavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    std::vector<PreToken> out;
    std::vector<std::pair<std::size_t, std::size_t>> matches;
    for (const PreToken& piece : pieces) {
      pattern_.find_all(piece.text, matches);
      // Inverted, the pattern's matches are what stays and the text between them what splits.
      split_piece(piece, spans_of(piece.text.size(), matches, invert_), behavior_, out);
    }
    pieces.swap(out);
  }

 private:
  TextPattern pattern_;
  Behavior behavior_;
  bool invert_;
};

class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  enum class Prepend { kAlways, kFirst, kNever };
  MetaspacePreTokenizer(char32_t replacement, Prepend prepend, bool split)
      : replacement_(replacement), prepend_(prepend), split_(split) {}
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    std::vector<PreToken> out;
    std::vector<std::pair<std::size_t, std::size_t>> matches;
    for (PreToken& piece : pieces) {
      for (char32_t& c : piece.text) {
        if (c == U' ') c = replacement_;
      }
      bool prepend = prepend_ == Prepend::kAlways || (prepend_ == Prepend::kFirst && piece.at_start);
      if (prepend && (piece.text.empty() || piece.text[0] != replacement_)) piece.text.insert(0, 1, replacement_);
      if (split_) {
        char32_t r = replacement_;
        char_matches(piece.text, [r](char32_t c) { return c == r; }, matches);
        split_piece(piece, matches, Behavior::kMergedWithNext, out);
      } else if (!piece.text.empty()) {
        out.push_back(std::move(piece));
      }
    }
    pieces.swap(out);
  }

 private:
  char32_t replacement_;
  Prepend prepend_;
  bool split_;
};

// GPT-2's pattern 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+,
// written out by hand: it is on the hot path of every byte-level tokenizer.
void gpt2_matches(std::u32string_view t, std::vector<std::pair<std::size_t, std::size_t>>& matches) {
  matches.clear();
  const std::size_t n = t.size();
  using Test = std::function<bool(std::size_t)>;
  Test letter = [&](std::size_t i) { return unicode::is_letter(unicode::category(t[i])); };
  Test number = [&](std::size_t i) { return unicode::is_number(unicode::category(t[i])); };
  Test space = [&](std::size_t i) { return unicode::is_whitespace(t[i]); };
  Test other = [&](std::size_t i) { return !space(i) && !letter(i) && !number(i); };
  std::size_t i = 0;
  while (i < n) {
    std::size_t start = i;
    if (t[i] == '\'' && i + 1 < n) {
      char32_t a = t[i + 1];
      char32_t b = i + 2 < n ? t[i + 2] : 0;
      std::size_t length = 0;
      if (a == 's' || a == 't' || a == 'm' || a == 'd') {
        length = 2;
      } else if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) {
        length = 3;
      }
      if (length > 0) {
        matches.emplace_back(i, i + length);
        i += length;
        continue;
      }
    }
    std::size_t j = t[i] == ' ' && i + 1 < n ? i + 1 : i;
    // ` ?X+` for the three classes, in the pattern's order.
    for (const Test* run : {&letter, &number, &other}) {
      std::size_t k = j;
      while (k < n && (*run)(k)) ++k;
      if (k > j) {
        matches.emplace_back(start, k);
        i = k;
        break;
      }
      // Without the optional space the run must start at i itself.
      if (j != i) {
        k = i;
        while (k < n && (*run)(k)) ++k;
        if (k > i) {
          matches.emplace_back(start, k);
          i = k;
          break;
        }
      }
    }
    if (i != start) continue;
    // Whitespace: \s+(?!\S) then \s+.
    std::size_t k = i;
    while (k < n && space(k)) ++k;
    if (k == i) {
      ++i;  // cannot happen: every character is in one of the classes
      continue;
    }
    if (k < n && k - i > 1) k -= 1;  // leave the last space to prefix the next word
    matches.emplace_back(i, k);
    i = k;
  }
}

class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {}
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    std::vector<PreToken> split;
    std::vector<std::pair<std::size_t, std::size_t>> matches;
    for (PreToken& piece : pieces) {
      if (add_prefix_space_ && (piece.text.empty() || piece.text[0] != U' ')) piece.text.insert(0, 1, U' ');
      if (use_regex_) {
        gpt2_matches(piece.text, matches);
        split_piece(piece, matches, Behavior::kIsolated, split);
      } else if (!piece.text.empty()) {
        split.push_back(std::move(piece));
      }
    }
    // Every byte of the UTF-8 becomes one printable character.
    std::string utf8;
    for (PreToken& piece : split) {
      utf8.clear();
      for (char32_t c : piece.text) unicode::append_utf8(c, utf8);
      piece.text.clear();
      for (char b : utf8) piece.text.push_back(byte_to_char(static_cast<unsigned char>(b)));
    }
    pieces.swap(split);
  }

 private:
  bool add_prefix_space_, use_regex_;
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts) : parts_(std::move(parts)) {}
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    for (const auto& part : parts_) part->pre_tokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

bool bool_field(const JsonValue& json, const char* key, bool fallback) {
  auto it = json.find(key);
  if (it == json.end() || it->is_null()) return fallback;
  return it->get<bool>();
}

}  // namespace

char32_t byte_to_char(unsigned char byte) {
  static const std::array<char32_t, 256> kTable = [] {
    std::array<char32_t, 256> table{};
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      table[static_cast<std::size_t>(b)] = printable ? static_cast<char32_t>(b) : next++;
    }
    return table;
  }();
  return kTable[byte];
}

std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer() { return std::make_unique<BertPreTokenizer>(); }

Result<std::unique_ptr<PreTokenizer>> make_pre_tokenizer(const JsonValue& json) {
  if (json.is_null()) return std::unique_ptr<PreTokenizer>();
  if (!json.is_object()) return parse_error("pre_tokenizer: expected an object");
  std::string type = json.value("type", "");
  if (type == "BertPreTokenizer") return make_bert_pre_tokenizer();
  if (type == "WhitespaceSplit") return std::unique_ptr<PreTokenizer>(new WhitespaceSplitPreTokenizer());
  if (type == "Whitespace") {
    AIRLOCK_ASSIGN_OR_RETURN(TextPattern pattern, TextPattern::regex("\\w+|[^\\w\\s]+", RegexFlavor::kRust));
    return std::unique_ptr<PreTokenizer>(new PatternPreTokenizer(std::move(pattern), Behavior::kRemoved, true));
  }
  if (type == "CharDelimiterSplit") {
    std::u32string delimiter = unicode::decode_utf8(json.at("delimiter").get<std::string>());
    if (delimiter.size() != 1) return parse_error("CharDelimiterSplit: delimiter must be one character");
    return std::unique_ptr<PreTokenizer>(new CharDelimiterPreTokenizer(delimiter[0]));
  }
  if (type == "Punctuation") {
    Behavior behavior = Behavior::kIsolated;
    if (json.contains("behavior")) {
      AIRLOCK_ASSIGN_OR_RETURN(behavior, parse_behavior(json.at("behavior")));
    }
    return std::unique_ptr<PreTokenizer>(new PunctuationPreTokenizer(behavior));
  }
  if (type == "Digits") {
    return std::unique_ptr<PreTokenizer>(new DigitsPreTokenizer(bool_field(json, "individual_digits", false)));
  }
  if (type == "Split") {
    AIRLOCK_ASSIGN_OR_RETURN(TextPattern pattern, TextPattern::from_json(json.at("pattern")));
    AIRLOCK_ASSIGN_OR_RETURN(Behavior behavior, parse_behavior(json.at("behavior")));
    return std::unique_ptr<PreTokenizer>(
        new PatternPreTokenizer(std::move(pattern), behavior, bool_field(json, "invert", false)));
  }
  if (type == "Metaspace") {
    std::u32string replacement = unicode::decode_utf8(json.value("replacement", "\xE2\x96\x81"));
    if (replacement.size() != 1) return parse_error("Metaspace: replacement must be one character");
    auto prepend = MetaspacePreTokenizer::Prepend::kAlways;
    if (json.contains("prepend_scheme") && json.at("prepend_scheme").is_string()) {
      std::string scheme = json.at("prepend_scheme").get<std::string>();
      if (scheme == "first") {
        prepend = MetaspacePreTokenizer::Prepend::kFirst;
      } else if (scheme == "never") {
        prepend = MetaspacePreTokenizer::Prepend::kNever;
      } else if (scheme != "always") {
        return parse_error(fmt::format("Metaspace: unknown prepend_scheme \"{}\"", scheme));
      }
    } else if (!bool_field(json, "add_prefix_space", true)) {
      prepend = MetaspacePreTokenizer::Prepend::kNever;
    }
    return std::unique_ptr<PreTokenizer>(
        new MetaspacePreTokenizer(replacement[0], prepend, bool_field(json, "split", true)));
  }
  if (type == "ByteLevel") {
    return std::unique_ptr<PreTokenizer>(
        new ByteLevelPreTokenizer(bool_field(json, "add_prefix_space", true), bool_field(json, "use_regex", true)));
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (const JsonValue& part : json.at("pretokenizers")) {
      AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<PreTokenizer> p, make_pre_tokenizer(part));
      if (p) parts.push_back(std::move(p));
    }
    return std::unique_ptr<PreTokenizer>(new SequencePreTokenizer(std::move(parts)));
  }
  return Error(ErrorCode::kUnsupported, fmt::format("pre_tokenizer type \"{}\" is not supported", type));
}

}  // namespace airlock::engine
