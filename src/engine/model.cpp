#include "engine/model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/file_io.h"
#include "core/log.h"
#include "engine/encoder_weights.h"
#include "engine/model_registry.h"
#include "engine/pooling.h"
#include "engine/safetensors.h"
#include "engine/tokenizer.h"

namespace airlock::engine {

struct Model::Scratch {
  TokenBatch batch;
  std::vector<float> states;
  std::vector<std::size_t> order, members;
};

Model::Model() = default;
Model::~Model() = default;

std::string_view input_type_name(InputType type) {
  switch (type) {
    case InputType::kNone: return "none";
    case InputType::kQuery: return "query";
    case InputType::kPassage: return "passage";
  }
  return "?";
}

Result<std::filesystem::path> resolve_model_dir(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::exists(path / "config.json", ec)) return path;
  std::filesystem::path ref = path / "refs" / "main";
  if (std::filesystem::exists(ref, ec) && std::filesystem::is_directory(path / "snapshots", ec)) {
    AIRLOCK_ASSIGN_OR_RETURN(std::string commit, read_file_limited(ref, 256));
    while (!commit.empty() && (commit.back() == '\n' || commit.back() == '\r' || commit.back() == ' ')) commit.pop_back();
    bool plain = !commit.empty() && commit.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
    if (!plain) return parse_error(fmt::format("{}: refs/main does not hold a commit id", path.string()));
    std::filesystem::path snapshot = path / "snapshots" / commit;
    if (std::filesystem::exists(snapshot / "config.json", ec)) return snapshot;
    return not_found(fmt::format("{}: snapshot {} has no config.json", path.string(), commit));
  }
  if (!std::filesystem::exists(path, ec)) return not_found(fmt::format("{}: no such model directory", path.string()));
  return not_found(fmt::format("{}: no config.json here (give a snapshot directory with config.json, tokenizer and "
                               "model.safetensors)",
                               path.string()));
}

Result<std::unique_ptr<Model>> Model::load(const std::filesystem::path& dir, const LoadOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return not_found(fmt::format("{}: not a model directory", dir.string()));
  }
  auto model = std::unique_ptr<Model>(new Model());
  model->options_ = options;
  AIRLOCK_ASSIGN_OR_RETURN(model->config_, load_encoder_config(dir));
  const EncoderConfig& config = model->config_;
  auto arch = resolve_architecture(config);
  if (!arch.ok()) return arch.error().with_context((dir / "config.json").string());
  AIRLOCK_ASSIGN_OR_RETURN(Tokenizer tokenizer, Tokenizer::load(dir));
  model->tokenizer_ = std::make_unique<Tokenizer>(std::move(tokenizer));
  // The model pads nothing itself (batches are packed), so the file's padding is not used.
  model->tokenizer_->set_padding(std::nullopt);
  AIRLOCK_ASSIGN_OR_RETURN(model->st_, load_sentence_transformers_config(dir));
  AIRLOCK_ASSIGN_OR_RETURN(WeightStore store, WeightStore::open(dir));
  AIRLOCK_ASSIGN_OR_RETURN(EncoderWeights weights, load_encoder_weights(store, config, arch->head, arch->prefixes));
  if (model->tokenizer_->vocab_size() > static_cast<std::size_t>(config.vocab_size)) {
    log::warn("{}: the tokenizer has {} tokens but the model only {} embeddings", dir.string(),
              model->tokenizer_->vocab_size(), config.vocab_size);
  }

  model->padding_offset_positions_ = arch->positions == PositionStyle::kPaddingOffset;
  model->position_offset_ = model->padding_offset_positions_ ? static_cast<std::int32_t>(config.pad_token_id + 1) : 0;
  std::int64_t max_tokens = config.max_position_embeddings - model->position_offset_;
  if (model->st_.max_seq_length) max_tokens = std::min(max_tokens, *model->st_.max_seq_length);
  if (options.max_seq_length) max_tokens = std::min(config.max_position_embeddings - model->position_offset_, *options.max_seq_length);
  if (max_tokens <= static_cast<std::int64_t>(model->tokenizer_->special_tokens_added(true))) {
    return invalid_argument(fmt::format("{}: a maximum of {} tokens per input leaves no room for text", dir.string(), max_tokens));
  }

  ModelInfo& info = model->info_;
  info.architecture = arch->name;
  info.model_type = config.model_type;
  info.kind = arch->head == HeadKind::kNone ? ModelKind::kEmbedding : ModelKind::kClassifier;
  info.hidden_size = config.hidden_size;
  info.max_tokens = max_tokens;
  info.labels = config.labels;
  if (info.kind == ModelKind::kEmbedding) {
    if (model->st_.pooling.empty()) {
      // A plain checkpoint: sentence-transformers would wrap it with mean pooling.
      model->st_.pooling.push_back(PoolingMode::kMean);
    }
    info.pooling = model->st_.pooling;
    info.normalize = model->st_.normalize;
    std::int64_t dims = config.hidden_size * static_cast<std::int64_t>(model->st_.pooling.size());
    for (const DenseLayer& dense : model->st_.dense) {
      if (dense.in_features != dims) {
        return parse_error(fmt::format("{}: a Dense module expects {} inputs but pooling gives {}", dir.string(),
                                       dense.in_features, dims));
      }
      dims = dense.out_features;
    }
    info.dimensions = dims;
  } else {
    info.dimensions = config.num_labels;
  }

  if (options.backend.device == DeviceKind::kCuda) {
    AIRLOCK_ASSIGN_OR_RETURN(model->backend_, make_cuda_backend(weights, options.backend));
  } else {
    AIRLOCK_ASSIGN_OR_RETURN(model->backend_, make_cpu_backend(weights, options.backend));
  }
  info.backend = model->backend_->describe();
  // Keep only what the model itself still needs: table sizes for validation and the head.
  auto head = std::make_unique<EncoderWeights>();
  head->hidden = weights.hidden;
  head->vocab = weights.vocab;
  head->positions = weights.positions;
  head->types = weights.types;
  head->head = weights.head;
  head->head_dense = std::move(weights.head_dense);
  head->head_out = std::move(weights.head_out);
  model->head_ = std::move(head);
  return model;
}

std::string Model::prefix_for(InputType type) const {
  if (type == InputType::kNone) {
    // sentence-transformers applies the default prompt when the caller names none.
    if (st_.default_prompt_name) {
      auto it = st_.prompts.find(*st_.default_prompt_name);
      if (it != st_.prompts.end()) return it->second;
    }
    return "";
  }
  const char* name = type == InputType::kQuery ? "query" : "passage";
  const std::optional<std::string>& given = type == InputType::kQuery ? options_.query_prefix : options_.passage_prefix;
  if (given) return *given;
  auto it = st_.prompts.find(name);
  if (it != st_.prompts.end()) return it->second;
  if (type == InputType::kPassage) {
    auto doc = st_.prompts.find("document");
    if (doc != st_.prompts.end()) return doc->second;
  }
  return "";
}

Result<Encoding> Model::encode_checked(std::string_view text, const std::string_view* pair, Truncate truncate) const {
  TruncationParams params;
  params.max_length = static_cast<std::size_t>(info_.max_tokens);
  params.strategy = TruncationStrategy::kLongestFirst;
  params.direction = truncate == Truncate::kStart ? Side::kLeft : Side::kRight;
  if (truncate == Truncate::kNone) {
    AIRLOCK_ASSIGN_OR_RETURN(Encoding full, tokenizer_->encode(text, pair, true, std::nullopt));
    if (full.size() > static_cast<std::size_t>(info_.max_tokens)) {
      // NIM's wording, which clients match on.
      return invalid_argument(fmt::format("Input length {} exceeds maximum allowed token size {}", full.size(),
                                          info_.max_tokens));
    }
    return full;
  }
  return tokenizer_->encode(text, pair, true, params);
}

Result<Encoding> Model::tokenize(std::string_view text, const std::string_view* pair) const {
  return encode_checked(text, pair, Truncate::kEnd);
}

template <typename Visit>
Status Model::run(const std::vector<Encoding>& inputs, Visit&& visit) const {
  std::unique_ptr<Scratch> scratch;
  {
    std::lock_guard<std::mutex> lock(scratch_mutex_);
    if (!scratch_.empty()) {
      scratch = std::move(scratch_.back());
      scratch_.pop_back();
    }
  }
  if (!scratch) scratch = std::make_unique<Scratch>();
  struct GiveBack {
    const Model* model;
    std::unique_ptr<Scratch>& scratch;
    ~GiveBack() {
      std::lock_guard<std::mutex> lock(model->scratch_mutex_);
      model->scratch_.push_back(std::move(scratch));
    }
  } give_back{this, scratch};
  TokenBatch& batch = scratch->batch;
  std::vector<std::size_t>& members = scratch->members;
  std::vector<float>& states = scratch->states;
  auto reset = [&] {
    batch.ids.clear();
    batch.type_ids.clear();
    batch.positions.clear();
    batch.offsets.assign(1, 0);
    members.clear();
  };
  reset();
  // Longest first, so that batches hold sequences of similar length (little padding work in
  // attention) and the first batch sizes the scratch memory once.
  std::vector<std::size_t>& order = scratch->order;
  order.resize(inputs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return inputs[a].size() > inputs[b].size(); });
  auto flush = [&]() -> Status {
    if (members.empty()) return ok_status();
    AIRLOCK_TRY(validate_batch(batch, *head_));
    const std::size_t needed = batch.tokens() * static_cast<std::size_t>(info_.hidden_size);
    if (states.size() < needed) states.resize(needed);
    {
      std::lock_guard<std::mutex> lock(forward_mutex_);
      AIRLOCK_TRY(backend_->forward(batch, std::span<float>(states.data(), needed)));
    }
    for (std::size_t k = 0; k < members.size(); ++k) {
      const float* s = states.data() + static_cast<std::size_t>(batch.offsets[k]) * static_cast<std::size_t>(info_.hidden_size);
      visit(members[k], s, static_cast<std::int64_t>(batch.length(k)));
    }
    reset();
    return ok_status();
  };
  for (std::size_t index : order) {
    const Encoding& e = inputs[index];
    if (!members.empty() && (batch.tokens() + e.size() > options_.max_batch_tokens ||
                             members.size() >= options_.max_batch_sequences)) {
      AIRLOCK_TRY(flush());
    }
    std::int32_t position = position_offset_;
    for (std::size_t t = 0; t < e.size(); ++t) {
      batch.ids.push_back(e.ids[t]);
      batch.type_ids.push_back(config_.type_vocab_size == 1 ? 0 : e.type_ids[t]);
      if (padding_offset_positions_) {
        // transformers numbers the non-pad tokens from pad_token_id + 1; a pad id inside the
        // text gets the padding position itself.
        if (e.ids[t] == config_.pad_token_id) {
          batch.positions.push_back(static_cast<std::int32_t>(config_.pad_token_id));
        } else {
          batch.positions.push_back(position++);
        }
      } else {
        batch.positions.push_back(static_cast<std::int32_t>(t));
      }
    }
    batch.offsets.push_back(static_cast<std::int32_t>(batch.ids.size()));
    members.push_back(index);
  }
  return flush();
}

Result<Embeddings> Model::embed(std::span<const std::string> texts, const EmbedOptions& options) const {
  if (info_.kind != ModelKind::kEmbedding) {
    return invalid_argument(fmt::format("this model is a {} classifier (a reranker): use rank, not embed", info_.architecture));
  }
  if (options.dimensions && (*options.dimensions <= 0 || *options.dimensions > info_.dimensions)) {
    return invalid_argument(fmt::format("dimensions must be between 1 and {} (got {})", info_.dimensions, *options.dimensions));
  }
  const std::string prefix = prefix_for(options.input_type);
  // How many leading tokens the prompt occupies ([CLS] + prompt), for include_prompt=false.
  std::int64_t prompt_tokens = 0;
  if (!prefix.empty() && !st_.include_prompt) {
    AIRLOCK_ASSIGN_OR_RETURN(Encoding p, tokenizer_->encode(prefix, nullptr, true, std::nullopt));
    prompt_tokens = static_cast<std::int64_t>(p.size()) - 1;
  }
  std::vector<Encoding> inputs;
  inputs.reserve(texts.size());
  for (const std::string& text : texts) {
    AIRLOCK_ASSIGN_OR_RETURN(Encoding e, encode_checked(prefix.empty() ? text : prefix + text, nullptr, options.truncate));
    inputs.push_back(std::move(e));
  }
  Embeddings out;
  out.rows = static_cast<std::int64_t>(texts.size());
  out.dimensions = options.dimensions.value_or(info_.dimensions);
  out.values.resize(static_cast<std::size_t>(out.rows * out.dimensions));
  bool normalize = options.normalize.value_or(st_.normalize) || options.dimensions.has_value();
  std::vector<float> pooled;
  AIRLOCK_TRY(run(inputs, [&](std::size_t i, const float* states, std::int64_t length) {
    pooled.clear();
    pool(states, length, info_.hidden_size, st_.pooling, prompt_tokens, pooled);
    for (const DenseLayer& dense : st_.dense) pooled = apply_dense(dense, pooled);
    if (options.dimensions) pooled.resize(static_cast<std::size_t>(*options.dimensions));  // Matryoshka cut
    if (normalize) l2_normalize(pooled);
    std::copy(pooled.begin(), pooled.end(), out.values.begin() + static_cast<std::ptrdiff_t>(i * static_cast<std::size_t>(out.dimensions)));
  }));
  for (const Encoding& e : inputs) {
    out.token_counts.push_back(static_cast<std::int64_t>(e.size()));
    out.total_tokens += static_cast<std::int64_t>(e.size());
  }
  return out;
}

Result<Ranking> Model::rank(std::string_view query, std::span<const std::string> passages, const RankOptions& options) const {
  if (info_.kind != ModelKind::kClassifier) {
    return invalid_argument(fmt::format("this model ({}) has no classification head: it embeds, it does not rank",
                                        info_.architecture));
  }
  std::vector<Encoding> inputs;
  for (const std::string& passage : passages) {
    std::string_view p(passage);
    AIRLOCK_ASSIGN_OR_RETURN(Encoding e, encode_checked(query, &p, options.truncate));
    inputs.push_back(std::move(e));
  }
  Ranking out;
  out.logits.resize(passages.size());
  const LinearWeights& dense = *head_->head_dense;
  const LinearWeights& proj = *head_->head_out;
  const auto d = static_cast<std::size_t>(info_.hidden_size);
  std::vector<double> hidden(d);
  AIRLOCK_TRY(run(inputs, [&](std::size_t i, const float* states, std::int64_t) {
    // Both heads read the first token: dense + tanh, then the projection to the labels.
    for (std::size_t o = 0; o < d; ++o) {
      double s = dense.bias[o];
      const float* w = dense.weight.data() + o * d;
      for (std::size_t c = 0; c < d; ++c) s += static_cast<double>(w[c]) * states[c];
      hidden[o] = std::tanh(s);
    }
    double logit = proj.bias[0];
    for (std::size_t c = 0; c < d; ++c) logit += static_cast<double>(proj.weight[c]) * hidden[c];
    out.logits[i] = static_cast<float>(logit);
  }));
  for (const Encoding& e : inputs) {
    out.token_counts.push_back(static_cast<std::int64_t>(e.size()));
    out.total_tokens += static_cast<std::int64_t>(e.size());
  }
  return out;
}

Result<std::vector<std::vector<float>>> Model::hidden_states(const std::vector<Encoding>& inputs) const {
  std::vector<std::vector<float>> out(inputs.size());
  AIRLOCK_TRY(run(inputs, [&](std::size_t i, const float* states, std::int64_t length) {
    out[i].assign(states, states + length * info_.hidden_size);
  }));
  return out;
}

}  // namespace airlock::engine
