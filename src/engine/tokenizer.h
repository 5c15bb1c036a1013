// A Hugging Face tokenizer (tokenizer.json, or a BERT vocab.txt) that produces the same ids,
// type ids and masks as the `tokenizers` library: added tokens, normalizer, pre-tokenizer,
// model, truncation, post-processor, padding — in that order.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "engine/encoding.h"

namespace airlock::engine {

enum class TruncationStrategy { kLongestFirst, kOnlyFirst, kOnlySecond };
enum class Side { kLeft, kRight };

struct TruncationParams {
  std::size_t max_length = 512;  // counts the special tokens
  TruncationStrategy strategy = TruncationStrategy::kLongestFirst;
  Side direction = Side::kRight;
};

struct PaddingParams {
  std::optional<std::size_t> fixed_length;  // unset: pad to the longest (for one input: itself)
  Side direction = Side::kRight;
  std::size_t multiple_of = 0;
  std::int32_t pad_id = 0;
  std::int32_t pad_type_id = 0;
  std::string pad_token = "[PAD]";
};

struct AddedToken {
  std::string content;
  std::int32_t id = 0;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool special = false;
};

struct TokenizerParts;

class Tokenizer {
 public:
  // `source` names the file in errors.
  static Result<Tokenizer> from_json(std::string_view json_text, std::string_view source);
  // tokenizer.json when the directory has one, else vocab.txt with tokenizer_config.json and
  // special_tokens_map.json (a BERT WordPiece tokenizer, as transformers would build it).
  static Result<Tokenizer> load(const std::filesystem::path& dir);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Encodes one text (pair == nullptr) or a pair. Any bytes are accepted: invalid UTF-8 is
  // replaced by U+FFFD. Truncation and padding are the tokenizer's own (from the file or set
  // below) unless `truncation` is given.
  Result<Encoding> encode(std::string_view text, const std::string_view* pair = nullptr,
                          bool add_special_tokens = true,
                          const std::optional<TruncationParams>& truncation = std::nullopt) const;

  const std::optional<TruncationParams>& truncation() const;
  const std::optional<PaddingParams>& padding() const;
  void set_truncation(std::optional<TruncationParams> params);
  void set_padding(std::optional<PaddingParams> params);

  std::optional<std::int32_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(std::int32_t id) const;
  std::size_t vocab_size() const;
  const std::vector<AddedToken>& added_tokens() const;
  // Special tokens the post-processor adds to one text or a pair.
  std::size_t special_tokens_added(bool pair) const;

 private:
  explicit Tokenizer(std::unique_ptr<TokenizerParts> parts);
  std::unique_ptr<TokenizerParts> parts_;
};

}  // namespace airlock::engine
