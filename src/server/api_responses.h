// The response bodies of the model API. Embedding vectors are the bulk of every answer, so they
// are written directly (shortest round-trip float text, or base64 of little-endian float32 as
// OpenAI clients decode it) rather than through a JSON tree.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/api_requests.h"

namespace airlock::server {

// {"object":"list","data":[{"object":"embedding","index":i,"embedding":[...] | "<base64>"}, ...],
//  "model":"...","usage":{"prompt_tokens":n,"total_tokens":n}}. `values` is rows x dimensions.
// Fails (kInternal) on a non-finite value, which JSON cannot carry.
Result<std::string> render_embeddings(std::span<const float> values, std::int64_t rows, std::int64_t dimensions,
                                      std::string_view model, EncodingFormat format, std::int64_t prompt_tokens);

// NIM: {"rankings":[{"index":i,"logit":x}, ...]} by logit, highest first (ties by index).
// TEI (/rerank): [{"index":i,"score":s[,"text":...]}, ...] the same order; s = sigmoid(logit)
// unless raw_scores.
std::string render_rankings(const RankingRequest& request, std::span<const float> logits, std::string_view model,
                            std::int64_t prompt_tokens);

// The bytes OpenAI's base64 encoding carries: float32, little-endian, in order.
std::string float32_le_bytes(std::span<const float> values);

}  // namespace airlock::server
