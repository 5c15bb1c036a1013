// Embeddings of inputs given as token ids (OpenAI's int[] / int[][] input). The ids are the
// model's own and are used as they are, special tokens included (as TEI does): nothing is
// added or re-tokenized. The pooling, Dense and Normalize steps are the sentence-transformers
// modules of the model's directory, the same ones Model::embed applies to texts.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "core/result.h"
#include "engine/model.h"
#include "engine/model_config.h"

namespace airlock::server {

class TokenEmbedder {
 public:
  static Result<TokenEmbedder> load(const engine::Model& model, const std::filesystem::path& dir);

  // Inputs longer than the model's limit follow `options.truncate` (kNone: NIM's 422 message).
  Result<engine::Embeddings> embed(const std::vector<std::vector<std::int32_t>>& inputs,
                                   const engine::EmbedOptions& options) const;

 private:
  TokenEmbedder(const engine::Model& model, engine::SentenceTransformersConfig config)
      : model_(&model), config_(std::move(config)) {}
  const engine::Model* model_;
  engine::SentenceTransformersConfig config_;
};

}  // namespace airlock::server
