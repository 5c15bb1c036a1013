// The model stage of a tokenizer (WordPiece, Unigram, BPE): one pre-token in, its tokens out.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/json_value.h"
#include "core/result.h"

namespace airlock::engine {

struct Token {
  std::int32_t id = 0;
  std::string text;
};

// A string → id map that can be searched with a string_view without copying.
struct VocabHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using Vocab = std::unordered_map<std::string, std::int32_t, VocabHash, std::equal_to<>>;

class TokenizerModel {
 public:
  virtual ~TokenizerModel() = default;
  // Appends the tokens of one pre-token (never empty).
  virtual Status tokenize(std::u32string_view word, std::vector<Token>& out) const = 0;
  virtual std::optional<std::int32_t> token_to_id(std::string_view token) const = 0;
  virtual std::optional<std::string> id_to_token(std::int32_t id) const = 0;
  virtual std::size_t vocab_size() const = 0;
};

Result<std::unique_ptr<TokenizerModel>> make_tokenizer_model(const JsonValue& json);

}  // namespace airlock::engine
