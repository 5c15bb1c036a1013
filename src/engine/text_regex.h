// Patterns of tokenizer.json (`{"String": "..."}` or `{"Regex": "..."}`), matched over code
// points. Regexes run on a small backtracking engine that understands the Oniguruma subset the
// Hugging Face tokenizers use: literals, escapes (\s \S \d \D \w \W \p{L} \p{N} \P{..} \r \n \t),
// classes, groups ((?:..), (?i:..)), alternation, greedy quantifiers (? * + {m,n}) and
// lookahead ((?=..), (?!..)).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/json_value.h"
#include "core/result.h"

namespace airlock::engine {

struct RegexNode;

// Whose Unicode semantics \w, \d and \p{..} follow: Oniguruma's (tokenizer.json patterns) or
// the Rust `regex` crate's (patterns built into the library, such as the Whitespace pre-tokenizer).
enum class RegexFlavor { kOniguruma, kRust };

class TextPattern {
 public:
  static Result<TextPattern> literal(std::u32string text);
  static Result<TextPattern> regex(std::string_view pattern, RegexFlavor flavor = RegexFlavor::kOniguruma);
  static Result<TextPattern> from_json(const JsonValue& json);

  TextPattern(TextPattern&&) noexcept;
  TextPattern& operator=(TextPattern&&) noexcept;
  ~TextPattern();

  // Non-overlapping matches, leftmost first, as [begin, end) code point offsets. Empty matches
  // are skipped. A search that backtracks past a step budget at one position (a pathological
  // pattern) finds no match there rather than hanging.
  void find_all(std::u32string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const;

 private:
  TextPattern() = default;
  std::u32string literal_;
  std::shared_ptr<const RegexNode> regex_;
};

}  // namespace airlock::engine
