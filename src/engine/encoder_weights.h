// The weights of a BERT-family encoder (BERT, RoBERTa, XLM-R, and their sequence-classification
// heads), in fp32 on the host, laid out as in the checkpoint: Linear weights [out, in].
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "engine/model_config.h"
#include "engine/safetensors.h"

namespace airlock::engine {

struct LinearWeights {
  std::int64_t out = 0, in = 0;
  std::vector<float> weight;  // [out, in]
  std::vector<float> bias;    // [out]
};

struct NormWeights {
  std::vector<float> gamma, beta;
};

struct LayerWeights {
  LinearWeights qkv;  // query, key and value stacked: [3 * hidden, hidden]
  LinearWeights attention_output;
  NormWeights attention_norm;
  LinearWeights intermediate;
  LinearWeights output;
  NormWeights output_norm;
};

enum class HeadKind { kNone, kBertClassifier, kRobertaClassifier };

struct EncoderWeights {
  std::int64_t hidden = 0, heads = 0, ff = 0, vocab = 0, positions = 0, types = 0;
  float eps = 1e-12f;
  Activation activation = Activation::kGeluErf;
  std::vector<float> word_embeddings, position_embeddings, token_type_embeddings;  // [n, hidden]
  NormWeights embedding_norm;
  std::vector<LayerWeights> layers;
  // Classification heads: BERT pooler (dense + tanh) then classifier; RoBERTa dense + tanh then out_proj.
  HeadKind head = HeadKind::kNone;
  std::optional<LinearWeights> head_dense;
  std::optional<LinearWeights> head_out;
};

// Loads the encoder's tensors, trying the prefixes real checkpoints use ("", "bert.", "roberta.",
// ...); errors name the file and the tensor.
Result<EncoderWeights> load_encoder_weights(const WeightStore& store, const EncoderConfig& config, HeadKind head,
                                            const std::vector<std::string>& prefixes);

}  // namespace airlock::engine
