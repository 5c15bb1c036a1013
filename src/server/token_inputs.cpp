#include "server/token_inputs.h"

#include <fmt/format.h>

#include "engine/pooling.h"

namespace airlock::server {

Result<TokenEmbedder> TokenEmbedder::load(const engine::Model& model, const std::filesystem::path& dir) {
  AIRLOCK_ASSIGN_OR_RETURN(engine::SentenceTransformersConfig config, engine::load_sentence_transformers_config(dir));
  // The engine's rule for a plain checkpoint (no 1_Pooling): mean pooling.
  if (config.pooling.empty()) config.pooling = model.info().pooling;
  return TokenEmbedder(model, std::move(config));
}

Result<engine::Embeddings> TokenEmbedder::embed(const std::vector<std::vector<std::int32_t>>& inputs,
                                               const engine::EmbedOptions& options) const {
  const engine::ModelInfo& info = model_->info();
  if (info.kind != engine::ModelKind::kEmbedding) return invalid_argument("this model is a reranker: it does not embed");
  if (options.dimensions && (*options.dimensions <= 0 || *options.dimensions > info.dimensions)) {
    return invalid_argument(fmt::format("dimensions must be between 1 and {} (got {})", info.dimensions, *options.dimensions));
  }
  std::vector<engine::Encoding> encodings;
  encodings.reserve(inputs.size());
  for (const std::vector<std::int32_t>& ids : inputs) {
    if (static_cast<std::int64_t>(ids.size()) > info.max_tokens && options.truncate == engine::Truncate::kNone) {
      return invalid_argument(fmt::format("Input length {} exceeds maximum allowed token size {}", ids.size(), info.max_tokens));
    }
    engine::Encoding e;
    for (std::int32_t id : ids) e.push(id, 0, "", false);
    e.truncate(static_cast<std::size_t>(info.max_tokens), options.truncate == engine::Truncate::kStart);
    encodings.push_back(std::move(e));
  }
  AIRLOCK_ASSIGN_OR_RETURN(std::vector<std::vector<float>> states, model_->hidden_states(encodings));
  engine::Embeddings out;
  out.rows = static_cast<std::int64_t>(inputs.size());
  out.dimensions = options.dimensions.value_or(info.dimensions);
  out.values.reserve(static_cast<std::size_t>(out.rows * out.dimensions));
  const bool normalize = options.normalize.value_or(config_.normalize) || options.dimensions.has_value();
  std::vector<float> pooled;
  for (std::size_t i = 0; i < states.size(); ++i) {
    const auto length = static_cast<std::int64_t>(encodings[i].size());
    pooled.clear();
    engine::pool(states[i].data(), length, info.hidden_size, config_.pooling, 0, pooled);
    for (const engine::DenseLayer& dense : config_.dense) pooled = engine::apply_dense(dense, pooled);
    if (options.dimensions) pooled.resize(static_cast<std::size_t>(*options.dimensions));
    if (normalize) engine::l2_normalize(pooled);
    out.values.insert(out.values.end(), pooled.begin(), pooled.end());
    out.token_counts.push_back(length);
    out.total_tokens += length;
  }
  return out;
}

}  // namespace airlock::server
