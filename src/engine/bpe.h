// Byte-pair encoding (RoBERTa, GPT-2 style): start from characters, apply the lowest-ranked
// merge first, as Hugging Face `tokenizers` does.
#pragma once

#include <unordered_map>

#include "engine/tokenizer_model.h"

namespace airlock::engine {

class Bpe final : public TokenizerModel {
 public:
  static Result<std::unique_ptr<Bpe>> from_json(const JsonValue& json);

  Status tokenize(std::u32string_view word, std::vector<Token>& out) const override;
  std::optional<std::int32_t> token_to_id(std::string_view token) const override;
  std::optional<std::string> id_to_token(std::int32_t id) const override;
  std::size_t vocab_size() const override { return vocab_.size(); }

 private:
  struct Merge {
    std::uint32_t rank;
    std::int32_t new_id;
  };
  static std::uint64_t pair_key(std::int32_t a, std::int32_t b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
  }
  const Merge* find_merge(std::int32_t a, std::int32_t b) const;

  Vocab vocab_;
  std::vector<std::string> tokens_;
  std::unordered_map<std::uint64_t, Merge> merges_;
  std::optional<std::string> unk_token_;
  std::string prefix_;  // continuing_subword_prefix
  std::string suffix_;  // end_of_word_suffix
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
};

}  // namespace airlock::engine
