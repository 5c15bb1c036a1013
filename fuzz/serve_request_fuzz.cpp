// Any bytes as the body of POST /v1/embeddings, /v1/ranking and /rerank: the parsers must return
// a request or an OpenAI-shaped 4xx error, never crash, and what they accept must respect the
// limits (input counts, valid token ids, known enum values).
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "server/api_requests.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace airlock::server;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  RequestLimits limits;
  limits.max_inputs = 64;
  auto embeddings = parse_embeddings_request(body, limits);
  if (auto* e = std::get_if<ApiError>(&embeddings)) {
    if (e->status < 400 || e->status >= 500 || e->message.empty()) __builtin_trap();
  } else {
    const EmbeddingsRequest& r = std::get<EmbeddingsRequest>(embeddings);
    if (r.input_count() == 0 || r.input_count() > limits.max_inputs) __builtin_trap();
    for (const auto& ids : r.token_inputs) {
      if (ids.empty()) __builtin_trap();
      for (std::int32_t id : ids) {
        if (id < 0) __builtin_trap();
      }
    }
    if (r.dimensions && *r.dimensions < 1) __builtin_trap();
  }
  for (auto parsed : {parse_ranking_request(body, limits), parse_rerank_request(body, limits)}) {
    if (auto* e = std::get_if<ApiError>(&parsed)) {
      if (e->status < 400 || e->status >= 500) __builtin_trap();
    } else if (std::get<RankingRequest>(parsed).passages.empty() || std::get<RankingRequest>(parsed).passages.size() > limits.max_inputs) {
      __builtin_trap();
    }
  }
  split_model_suffix(body);
  return 0;
}
