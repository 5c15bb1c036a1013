// The request bodies of the model API, parsed strictly from untrusted bytes (fuzzed by
// fuzz/serve_request_fuzz.cpp): JSON nesting is bounded before parsing, every field is checked
// for its type with the field named in the error, counts are bounded, and unknown fields are
// ignored (OpenAI SDKs send extras). Invalid UTF-8 is a JSON error.
//
//   POST /v1/embeddings  OpenAI + NIM: input (string | [string] | [int] | [[int]]), model,
//                        encoding_format (float | base64), dimensions, user, input_type
//                        (query | passage), truncate (NONE | START | END)
//   POST /v1/ranking     NIM: model, query {text}, passages [{text}], truncate (NONE | END | START)
//   POST /rerank         TEI: query, texts, truncate (bool), truncation_direction (right | left),
//                        raw_scores, return_text
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/model.h"
#include "server/api_error.h"

namespace airlock::server {

enum class EncodingFormat { kFloat, kBase64 };

struct RequestLimits {
  std::size_t max_inputs = 2048;  // inputs per request (or passages per ranking)
  std::size_t max_depth = 16;     // JSON nesting
};

struct EmbeddingsRequest {
  std::string model;  // "" when the client sent none
  std::vector<std::string> texts;
  std::vector<std::vector<std::int32_t>> token_inputs;  // when the input was token arrays
  bool tokens = false;
  EncodingFormat encoding_format = EncodingFormat::kFloat;
  std::optional<std::int64_t> dimensions;
  std::optional<engine::InputType> input_type;  // from the field; the model-name suffix is applied later
  engine::Truncate truncate = engine::Truncate::kNone;  // NIM's default
  std::string user;

  std::size_t input_count() const { return tokens ? token_inputs.size() : texts.size(); }
};

struct RankingRequest {
  std::string model;
  std::string query;
  std::vector<std::string> passages;
  engine::Truncate truncate = engine::Truncate::kNone;
  // TEI's /rerank: scores through a sigmoid unless raw_scores; the texts echoed on request.
  bool tei = false;
  bool raw_scores = false;
  bool return_text = false;
};

template <typename T>
using Parsed = std::variant<T, ApiError>;

Parsed<EmbeddingsRequest> parse_embeddings_request(std::string_view body, const RequestLimits& limits);
Parsed<RankingRequest> parse_ranking_request(std::string_view body, const RequestLimits& limits);
Parsed<RankingRequest> parse_rerank_request(std::string_view body, const RequestLimits& limits);

// The deepest nesting of arrays and objects in `text`, counted without parsing (strings are
// skipped); stops counting once past `limit`.
std::size_t json_nesting_depth(std::string_view text, std::size_t limit);

// NIM's model-name suffixes: "name-query" / "name-passage" select the input type for strict
// OpenAI clients. Returns the name without the suffix and the type it selects.
struct ModelName {
  std::string base;
  std::optional<engine::InputType> input_type;
};
ModelName split_model_suffix(std::string_view model);

}  // namespace airlock::server
