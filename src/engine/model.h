// The engine's public API: load a Hugging Face snapshot directory (config.json, tokenizer,
// safetensors, sentence-transformers files), then embed texts or rank passages against a query.
// Thread-safe: any number of callers may share one Model (tokenization runs in parallel; the
// forward passes take turns, each using all the threads it was given).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "engine/backend.h"
#include "engine/encoding.h"
#include "engine/model_config.h"

namespace airlock::engine {

struct LoadOptions {
  BackendOptions backend;
  std::optional<std::int64_t> max_seq_length;  // overrides sentence_bert_config.json / the positions
  std::size_t max_batch_tokens = 8192;         // tokens per forward pass
  std::size_t max_batch_sequences = 64;
  // Prefixes for the query/passage input types when the model's config_sentence_transformers.json
  // has no "query"/"passage" prompts (E5-style models: "query: " and "passage: ").
  std::optional<std::string> query_prefix;
  std::optional<std::string> passage_prefix;
};

enum class ModelKind { kEmbedding, kClassifier };
enum class InputType { kNone, kQuery, kPassage };
// What to do with an input longer than the model's limit (NIM's "truncate").
enum class Truncate { kNone, kEnd, kStart };

struct EmbedOptions {
  InputType input_type = InputType::kNone;
  Truncate truncate = Truncate::kEnd;
  std::optional<std::int64_t> dimensions;  // Matryoshka: keep the first k and re-normalise
  std::optional<bool> normalize;           // default: the model's (2_Normalize), forced on when dimensions is set
};

struct Embeddings {
  std::int64_t rows = 0, dimensions = 0;
  std::vector<float> values;               // rows × dimensions, row-major, in input order
  std::vector<std::int64_t> token_counts;  // per input, special tokens included
  std::int64_t total_tokens = 0;
  std::span<const float> row(std::int64_t i) const {
    return {values.data() + i * dimensions, static_cast<std::size_t>(dimensions)};
  }
};

struct RankOptions {
  Truncate truncate = Truncate::kEnd;
};

struct Ranking {
  std::vector<float> logits;  // per passage, in input order: the raw relevance logit (label 0)
  std::vector<std::int64_t> token_counts;
  std::int64_t total_tokens = 0;
};

struct ModelInfo {
  std::string architecture;
  std::string model_type;
  ModelKind kind = ModelKind::kEmbedding;
  std::int64_t hidden_size = 0;
  std::int64_t dimensions = 0;  // output vector size (after pooling and Dense)
  std::int64_t max_tokens = 0;  // per input, special tokens included
  std::vector<PoolingMode> pooling;
  bool normalize = false;
  std::vector<std::string> labels;
  std::string backend;
};

class Tokenizer;
struct EncoderWeights;

class Model {
 public:
  static Result<std::unique_ptr<Model>> load(const std::filesystem::path& dir, const LoadOptions& options = {});
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelInfo& info() const { return info_; }

  Result<Embeddings> embed(std::span<const std::string> texts, const EmbedOptions& options = {}) const;
  // Scores each passage against the query with the cross-encoder head.
  Result<Ranking> rank(std::string_view query, std::span<const std::string> passages,
                       const RankOptions& options = {}) const;
  // The model's tokenization of a text (or a pair), truncated to the model's limit.
  Result<Encoding> tokenize(std::string_view text, const std::string_view* pair = nullptr) const;
  // The last hidden states for already-tokenized inputs ([tokens, hidden] per input), for tests
  // and callers that bring their own ids.
  Result<std::vector<std::vector<float>>> hidden_states(const std::vector<Encoding>& inputs) const;

 private:
  Model();
  struct Prepared;
  Result<Encoding> encode_checked(std::string_view text, const std::string_view* pair, Truncate truncate) const;
  // Runs the encoder over `inputs` in length-sorted batches; calls visit(i, states, length) for each.
  template <typename Visit>
  Status run(const std::vector<Encoding>& inputs, Visit&& visit) const;
  std::string prefix_for(InputType type) const;

  ModelInfo info_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<EncoderBackend> backend_;
  std::unique_ptr<EncoderWeights> head_;  // only the classification head and table sizes are kept
  SentenceTransformersConfig st_;
  EncoderConfig config_;
  std::int32_t position_offset_ = 0;
  bool padding_offset_positions_ = false;
  LoadOptions options_;
  mutable std::mutex forward_mutex_;
  // Batch and hidden-state buffers, kept between calls (one per concurrent caller) so that the
  // steady state allocates nothing.
  struct Scratch;
  mutable std::mutex scratch_mutex_;
  mutable std::vector<std::unique_ptr<Scratch>> scratch_;
};

std::string_view input_type_name(InputType type);

// A snapshot directory as given, or the snapshot a hub cache repository folder
// (models--org--name) points to through refs/main.
Result<std::filesystem::path> resolve_model_dir(const std::filesystem::path& path);

}  // namespace airlock::engine
