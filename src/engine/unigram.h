// Unigram language-model tokenizer (SentencePiece, XLM-R): the segmentation with the highest
// sum of piece log-probabilities (Viterbi), unknown characters fused into one <unk>.
#pragma once

#include "engine/tokenizer_model.h"

namespace airlock::engine {

class Unigram final : public TokenizerModel {
 public:
  static Result<std::unique_ptr<Unigram>> from_json(const JsonValue& json);

  Status tokenize(std::u32string_view word, std::vector<Token>& out) const override;
  std::optional<std::int32_t> token_to_id(std::string_view token) const override;
  std::optional<std::string> id_to_token(std::int32_t id) const override;
  std::size_t vocab_size() const override { return pieces_.size(); }

 private:
  std::vector<std::pair<std::string, double>> pieces_;
  Vocab ids_;
  std::optional<std::int32_t> unk_id_;
  bool byte_fallback_ = false;
  double min_score_ = 0;
  std::size_t max_piece_bytes_ = 0;
};

}  // namespace airlock::engine
