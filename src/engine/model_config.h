// config.json of a Hugging Face encoder, and the sentence-transformers files beside it
// (modules.json, 1_Pooling/config.json, sentence_bert_config.json, config_sentence_transformers.json).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace airlock::engine {

enum class Activation { kGeluErf, kGeluTanh, kQuickGelu, kRelu, kSilu, kTanh, kGelu10 };

struct EncoderConfig {
  std::vector<std::string> architectures;
  std::string model_type;
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t num_hidden_layers = 0;
  std::int64_t num_attention_heads = 0;
  std::int64_t intermediate_size = 0;
  Activation hidden_act = Activation::kGeluErf;
  std::string hidden_act_name = "gelu";
  std::int64_t max_position_embeddings = 512;
  std::int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  std::int64_t pad_token_id = 0;
  std::string position_embedding_type = "absolute";
  std::int64_t num_labels = 0;  // from id2label or num_labels; 0 when not a classifier
  std::vector<std::string> labels;
  // sentence-transformers CrossEncoder activation from config.json, if stated ("Sigmoid", "Identity", ...).
  std::optional<std::string> classifier_activation;
};

// Reads and checks config.json (sizes positive, heads dividing the hidden size, ...).
Result<EncoderConfig> load_encoder_config(const std::filesystem::path& dir);
Result<EncoderConfig> parse_encoder_config(std::string_view text, std::string_view source);

enum class PoolingMode { kCls, kMean, kMax, kMeanSqrtLen, kWeightedMean, kLastToken };

struct DenseLayer {
  std::int64_t in_features = 0, out_features = 0;
  bool bias = true;
  std::string activation;  // last component of activation_function ("Identity", "Tanh", ...)
  std::vector<float> weight;  // [out, in]
  std::vector<float> bias_values;
};

struct SentenceTransformersConfig {
  bool present = false;  // modules.json found
  std::vector<PoolingMode> pooling;  // in sentence-transformers' concatenation order
  bool normalize = false;
  bool include_prompt = true;
  std::optional<std::int64_t> max_seq_length;
  std::map<std::string, std::string> prompts;
  std::optional<std::string> default_prompt_name;
  std::vector<DenseLayer> dense;
};

Result<SentenceTransformersConfig> load_sentence_transformers_config(const std::filesystem::path& dir);
// Parses a 1_Pooling/config.json (legacy pooling_mode_* booleans or the newer "pooling_mode").
Result<std::vector<PoolingMode>> parse_pooling_config(std::string_view text, std::string_view source, bool* include_prompt);
std::string_view pooling_mode_name(PoolingMode mode);

}  // namespace airlock::engine
