// WordPiece (BERT): greedy longest-match-first over a vocabulary, "##" marking continuations.
#pragma once

#include "engine/tokenizer_model.h"

namespace airlock::engine {

class WordPiece final : public TokenizerModel {
 public:
  static Result<std::unique_ptr<WordPiece>> create(Vocab vocab, std::string unk_token,
                                                   std::string continuing_subword_prefix,
                                                   std::size_t max_input_chars_per_word);
  static Result<std::unique_ptr<WordPiece>> from_json(const JsonValue& json);
  // vocab.txt: one token per line, id = line number.
  static Result<std::unique_ptr<WordPiece>> from_vocab_file(std::string_view text, std::string unk_token);

  Status tokenize(std::u32string_view word, std::vector<Token>& out) const override;
  std::optional<std::int32_t> token_to_id(std::string_view token) const override;
  std::optional<std::string> id_to_token(std::int32_t id) const override;
  std::size_t vocab_size() const override { return vocab_.size(); }

 private:
  Vocab vocab_;
  std::vector<std::string> tokens_;
  std::string unk_token_;
  std::int32_t unk_id_ = 0;
  std::string prefix_;
  std::size_t max_chars_ = 100;
  std::size_t max_token_bytes_ = 0;  // no candidate longer than this can match
};

}  // namespace airlock::engine
