#include "engine/encoder_weights.h"

#include <fmt/format.h>

namespace airlock::engine {
namespace {

class Loader {
 public:
  Loader(const WeightStore& store, std::string prefix) : store_(store), prefix_(std::move(prefix)) {}

  Result<std::vector<float>> get(const std::string& name, const std::vector<std::int64_t>& shape) const {
    return store_.load_f32(prefix_ + name, shape);
  }
  // LayerNorm parameters under either naming (weight/bias, or the old gamma/beta).
  Result<NormWeights> norm(const std::string& name, std::int64_t size) const {
    NormWeights n;
    if (store_.contains(prefix_ + name + ".gamma") && !store_.contains(prefix_ + name + ".weight")) {
      AIRLOCK_ASSIGN_OR_RETURN(n.gamma, get(name + ".gamma", {size}));
      AIRLOCK_ASSIGN_OR_RETURN(n.beta, get(name + ".beta", {size}));
    } else {
      AIRLOCK_ASSIGN_OR_RETURN(n.gamma, get(name + ".weight", {size}));
      AIRLOCK_ASSIGN_OR_RETURN(n.beta, get(name + ".bias", {size}));
    }
    return n;
  }
  Result<LinearWeights> linear(const std::string& name, std::int64_t out, std::int64_t in) const {
    LinearWeights l;
    l.out = out;
    l.in = in;
    AIRLOCK_ASSIGN_OR_RETURN(l.weight, get(name + ".weight", {out, in}));
    AIRLOCK_ASSIGN_OR_RETURN(l.bias, get(name + ".bias", {out}));
    return l;
  }

 private:
  const WeightStore& store_;
  std::string prefix_;
};

}  // namespace

Result<EncoderWeights> load_encoder_weights(const WeightStore& store, const EncoderConfig& config, HeadKind head,
                                            const std::vector<std::string>& prefixes) {
  // The encoder's prefix is the one under which the word embeddings exist.
  std::optional<std::string> prefix;
  for (const std::string& p : prefixes) {
    if (store.contains(p + "embeddings.word_embeddings.weight")) {
      prefix = p;
      break;
    }
  }
  if (!prefix) {
    std::string tried;
    for (const std::string& p : prefixes) tried += (tried.empty() ? "\"" : ", \"") + p + "embeddings.word_embeddings.weight\"";
    return not_found(fmt::format("no encoder weights found: none of {} exists", tried));
  }
  Loader l(store, *prefix);
  EncoderWeights w;
  const std::int64_t d = config.hidden_size;
  w.hidden = d;
  w.heads = config.num_attention_heads;
  w.ff = config.intermediate_size;
  w.vocab = config.vocab_size;
  w.positions = config.max_position_embeddings;
  w.types = config.type_vocab_size;
  w.eps = static_cast<float>(config.layer_norm_eps);
  w.activation = config.hidden_act;
  AIRLOCK_ASSIGN_OR_RETURN(w.word_embeddings, l.get("embeddings.word_embeddings.weight", {w.vocab, d}));
  AIRLOCK_ASSIGN_OR_RETURN(w.position_embeddings, l.get("embeddings.position_embeddings.weight", {w.positions, d}));
  AIRLOCK_ASSIGN_OR_RETURN(w.token_type_embeddings, l.get("embeddings.token_type_embeddings.weight", {w.types, d}));
  AIRLOCK_ASSIGN_OR_RETURN(w.embedding_norm, l.norm("embeddings.LayerNorm", d));
  for (std::int64_t i = 0; i < config.num_hidden_layers; ++i) {
    std::string p = fmt::format("encoder.layer.{}.", i);
    LayerWeights layer;
    AIRLOCK_ASSIGN_OR_RETURN(LinearWeights q, l.linear(p + "attention.self.query", d, d));
    AIRLOCK_ASSIGN_OR_RETURN(LinearWeights k, l.linear(p + "attention.self.key", d, d));
    AIRLOCK_ASSIGN_OR_RETURN(LinearWeights v, l.linear(p + "attention.self.value", d, d));
    layer.qkv.out = 3 * d;
    layer.qkv.in = d;
    for (const LinearWeights* part : {&q, &k, &v}) {
      layer.qkv.weight.insert(layer.qkv.weight.end(), part->weight.begin(), part->weight.end());
      layer.qkv.bias.insert(layer.qkv.bias.end(), part->bias.begin(), part->bias.end());
    }
    AIRLOCK_ASSIGN_OR_RETURN(layer.attention_output, l.linear(p + "attention.output.dense", d, d));
    AIRLOCK_ASSIGN_OR_RETURN(layer.attention_norm, l.norm(p + "attention.output.LayerNorm", d));
    AIRLOCK_ASSIGN_OR_RETURN(layer.intermediate, l.linear(p + "intermediate.dense", w.ff, d));
    AIRLOCK_ASSIGN_OR_RETURN(layer.output, l.linear(p + "output.dense", d, w.ff));
    AIRLOCK_ASSIGN_OR_RETURN(layer.output_norm, l.norm(p + "output.LayerNorm", d));
    w.layers.push_back(std::move(layer));
  }
  w.head = head;
  if (head != HeadKind::kNone) {
    if (config.num_labels <= 0) return parse_error("config.json: a classification model needs id2label or num_labels");
    Loader root(store, "");
    if (head == HeadKind::kBertClassifier) {
      AIRLOCK_ASSIGN_OR_RETURN(w.head_dense, l.linear("pooler.dense", d, d));
      AIRLOCK_ASSIGN_OR_RETURN(w.head_out, root.linear("classifier", config.num_labels, d));
    } else {
      AIRLOCK_ASSIGN_OR_RETURN(w.head_dense, root.linear("classifier.dense", d, d));
      AIRLOCK_ASSIGN_OR_RETURN(w.head_out, root.linear("classifier.out_proj", config.num_labels, d));
    }
  }
  return w;
}

}  // namespace airlock::engine
