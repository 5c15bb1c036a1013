#include "engine/model_config.h"

#include <fmt/format.h>

#include "core/file_io.h"
#include "engine/json_value.h"
#include "engine/safetensors.h"

namespace airlock::engine {
namespace {

constexpr std::uint64_t kMaxConfigBytes = 16ull << 20;

Result<JsonValue> read_json(const std::filesystem::path& path) {
  AIRLOCK_ASSIGN_OR_RETURN(std::string text, read_file_limited(path, kMaxConfigBytes));
  AIRLOCK_ASSIGN_OR_RETURN(JsonValue json, parse_json_value(text, path.string()));
  if (!json.is_object()) return parse_error(fmt::format("{}: expected a JSON object", path.string()));
  return json;
}

Result<Activation> parse_activation(const std::string& name) {
  if (name == "gelu") return Activation::kGeluErf;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return Activation::kGeluTanh;
  if (name == "quick_gelu") return Activation::kQuickGelu;
  if (name == "relu") return Activation::kRelu;
  if (name == "silu" || name == "swish") return Activation::kSilu;
  if (name == "tanh") return Activation::kTanh;
  if (name == "gelu_10") return Activation::kGelu10;
  return Error(ErrorCode::kUnsupported, fmt::format("hidden_act \"{}\" is not supported", name));
}

std::string last_component(const std::string& qualified) {
  auto dot = qualified.rfind('.');
  return dot == std::string::npos ? qualified : qualified.substr(dot + 1);
}

}  // namespace

std::string_view pooling_mode_name(PoolingMode mode) {
  switch (mode) {
    case PoolingMode::kCls: return "cls";
    case PoolingMode::kMean: return "mean";
    case PoolingMode::kMax: return "max";
    case PoolingMode::kMeanSqrtLen: return "mean_sqrt_len_tokens";
    case PoolingMode::kWeightedMean: return "weightedmean";
    case PoolingMode::kLastToken: return "lasttoken";
  }
  return "?";
}

Result<EncoderConfig> parse_encoder_config(std::string_view text, std::string_view source) {
  AIRLOCK_ASSIGN_OR_RETURN(JsonValue json, parse_json_value(text, source));
  if (!json.is_object()) return parse_error(fmt::format("{}: expected a JSON object", source));
  EncoderConfig c;
  try {
    if (json.contains("architectures") && json.at("architectures").is_array()) {
      for (const JsonValue& a : json.at("architectures")) {
        if (a.is_string()) c.architectures.push_back(a.get<std::string>());
      }
    }
    c.model_type = json.value("model_type", "");
    auto integer = [&](const char* key, std::int64_t fallback) -> std::int64_t {
      auto it = json.find(key);
      if (it == json.end() || it->is_null()) return fallback;
      return it->get<std::int64_t>();
    };
    c.vocab_size = integer("vocab_size", 0);
    c.hidden_size = integer("hidden_size", 0);
    c.num_hidden_layers = integer("num_hidden_layers", 0);
    c.num_attention_heads = integer("num_attention_heads", 0);
    c.intermediate_size = integer("intermediate_size", 0);
    c.max_position_embeddings = integer("max_position_embeddings", 512);
    c.type_vocab_size = integer("type_vocab_size", 2);
    c.pad_token_id = integer("pad_token_id", 0);
    c.layer_norm_eps = json.value("layer_norm_eps", 1e-12);
    c.position_embedding_type = json.value("position_embedding_type", "absolute");
    c.hidden_act_name = json.value("hidden_act", "gelu");
    if (json.contains("id2label") && json.at("id2label").is_object()) {
      const JsonValue& labels = json.at("id2label");
      c.labels.resize(labels.size());
      for (auto it = labels.begin(); it != labels.end(); ++it) {
        std::size_t index = 0;
        try {
          index = static_cast<std::size_t>(std::stoul(it.key()));
        } catch (const std::exception&) {
          return parse_error(fmt::format("{}: id2label key \"{}\" is not a number", source, it.key()));
        }
        if (index >= c.labels.size() || !it.value().is_string()) {
          return parse_error(fmt::format("{}: id2label is not labels 0..{}", source, c.labels.size() - 1));
        }
        c.labels[index] = it.value().get<std::string>();
      }
      c.num_labels = static_cast<std::int64_t>(c.labels.size());
    }
    c.num_labels = integer("num_labels", c.num_labels);
    if (json.contains("sentence_transformers") && json.at("sentence_transformers").is_object()) {
      const JsonValue& st = json.at("sentence_transformers");
      if (st.contains("activation_fn") && st.at("activation_fn").is_string()) {
        c.classifier_activation = last_component(st.at("activation_fn").get<std::string>());
      }
    } else if (json.contains("sbert_ce_default_activation_function") &&
               json.at("sbert_ce_default_activation_function").is_string()) {
      c.classifier_activation = last_component(json.at("sbert_ce_default_activation_function").get<std::string>());
    }
  } catch (const JsonValue::exception& e) {
    return parse_error(fmt::format("{}: a field has the wrong type ({})", source, e.what()));
  }
  AIRLOCK_ASSIGN_OR_RETURN(c.hidden_act, parse_activation(c.hidden_act_name));
  auto positive = [&](std::int64_t v, const char* name) -> Status {
    if (v <= 0 || v > (1 << 24)) return parse_error(fmt::format("{}: \"{}\" must be a positive size (is {})", source, name, v));
    return ok_status();
  };
  AIRLOCK_TRY(positive(c.vocab_size, "vocab_size"));
  AIRLOCK_TRY(positive(c.hidden_size, "hidden_size"));
  AIRLOCK_TRY(positive(c.num_hidden_layers, "num_hidden_layers"));
  AIRLOCK_TRY(positive(c.num_attention_heads, "num_attention_heads"));
  AIRLOCK_TRY(positive(c.intermediate_size, "intermediate_size"));
  AIRLOCK_TRY(positive(c.max_position_embeddings, "max_position_embeddings"));
  AIRLOCK_TRY(positive(c.type_vocab_size, "type_vocab_size"));
  if (c.num_hidden_layers > 1024) return parse_error(fmt::format("{}: {} layers is implausible", source, c.num_hidden_layers));
  if (c.hidden_size % c.num_attention_heads != 0) {
    return parse_error(fmt::format("{}: hidden_size {} is not a multiple of num_attention_heads {}", source, c.hidden_size,
                                   c.num_attention_heads));
  }
  if (!(c.layer_norm_eps > 0 && c.layer_norm_eps < 1)) return parse_error(fmt::format("{}: layer_norm_eps must be in (0, 1)", source));
  if (c.position_embedding_type != "absolute") {
    return Error(ErrorCode::kUnsupported, fmt::format("{}: position_embedding_type \"{}\" is not supported (only \"absolute\")",
                                                      source, c.position_embedding_type));
  }
  if (c.num_labels < 0 || c.num_labels > 65536) return parse_error(fmt::format("{}: bad num_labels {}", source, c.num_labels));
  return c;
}

Result<EncoderConfig> load_encoder_config(const std::filesystem::path& dir) {
  std::filesystem::path path = dir / "config.json";
  AIRLOCK_ASSIGN_OR_RETURN(std::string text, read_file_limited(path, kMaxConfigBytes));
  return parse_encoder_config(text, path.string());
}

Result<std::vector<PoolingMode>> parse_pooling_config(std::string_view text, std::string_view source, bool* include_prompt) {
  AIRLOCK_ASSIGN_OR_RETURN(JsonValue json, parse_json_value(text, source));
  if (!json.is_object()) return parse_error(fmt::format("{}: expected a JSON object", source));
  std::vector<PoolingMode> modes;
  auto add_named = [&](const std::string& name) -> Status {
    if (name == "cls") {
      modes.push_back(PoolingMode::kCls);
    } else if (name == "mean") {
      modes.push_back(PoolingMode::kMean);
    } else if (name == "max") {
      modes.push_back(PoolingMode::kMax);
    } else if (name == "mean_sqrt_len_tokens") {
      modes.push_back(PoolingMode::kMeanSqrtLen);
    } else if (name == "weightedmean") {
      modes.push_back(PoolingMode::kWeightedMean);
    } else if (name == "lasttoken") {
      modes.push_back(PoolingMode::kLastToken);
    } else {
      return Error(ErrorCode::kUnsupported, fmt::format("{}: pooling mode \"{}\" is not supported", source, name));
    }
    return ok_status();
  };
  if (json.contains("pooling_mode") && !json.at("pooling_mode").is_null()) {
    const JsonValue& mode = json.at("pooling_mode");
    if (mode.is_string()) {
      AIRLOCK_TRY(add_named(mode.get<std::string>()));
    } else if (mode.is_array()) {
      for (const JsonValue& m : mode) {
        if (!m.is_string()) return parse_error(fmt::format("{}: pooling_mode entries must be strings", source));
        AIRLOCK_TRY(add_named(m.get<std::string>()));
      }
    } else {
      return parse_error(fmt::format("{}: pooling_mode must be a string or a list", source));
    }
    // sentence-transformers concatenates in a fixed order whatever the list order.
    std::sort(modes.begin(), modes.end(), [](PoolingMode a, PoolingMode b) {
      auto rank = [](PoolingMode m) {
        switch (m) {
          case PoolingMode::kCls: return 0;
          case PoolingMode::kMax: return 1;
          case PoolingMode::kMean: return 2;
          case PoolingMode::kMeanSqrtLen: return 3;
          case PoolingMode::kWeightedMean: return 4;
          case PoolingMode::kLastToken: return 5;
        }
        return 6;
      };
      return rank(a) < rank(b);
    });
  } else {
    auto flag = [&](const char* key) {
      auto it = json.find(key);
      return it != json.end() && it->is_boolean() && it->get<bool>();
    };
    if (flag("pooling_mode_cls_token")) modes.push_back(PoolingMode::kCls);
    if (flag("pooling_mode_max_tokens")) modes.push_back(PoolingMode::kMax);
    if (flag("pooling_mode_mean_tokens")) modes.push_back(PoolingMode::kMean);
    if (flag("pooling_mode_mean_sqrt_len_tokens")) modes.push_back(PoolingMode::kMeanSqrtLen);
    if (flag("pooling_mode_weightedmean_tokens")) modes.push_back(PoolingMode::kWeightedMean);
    if (flag("pooling_mode_lasttoken")) modes.push_back(PoolingMode::kLastToken);
  }
  if (modes.empty()) modes.push_back(PoolingMode::kMean);  // sentence-transformers' default
  if (include_prompt != nullptr) {
    auto it = json.find("include_prompt");
    *include_prompt = !(it != json.end() && it->is_boolean() && !it->get<bool>());
  }
  return modes;
}

Result<SentenceTransformersConfig> load_sentence_transformers_config(const std::filesystem::path& dir) {
  SentenceTransformersConfig st;
  std::error_code ec;
  std::filesystem::path modules_path = dir / "modules.json";
  if (std::filesystem::exists(modules_path, ec)) {
    st.present = true;
    AIRLOCK_ASSIGN_OR_RETURN(std::string text, read_file_limited(modules_path, kMaxConfigBytes));
    AIRLOCK_ASSIGN_OR_RETURN(JsonValue modules, parse_json_value(text, modules_path.string()));
    if (!modules.is_array()) return parse_error(fmt::format("{}: expected a list of modules", modules_path.string()));
    for (const JsonValue& m : modules) {
      if (!m.is_object() || !m.contains("type") || !m.at("type").is_string()) {
        return parse_error(fmt::format("{}: each module needs a \"type\"", modules_path.string()));
      }
      std::string type = last_component(m.at("type").get<std::string>());
      std::string path = m.value("path", "");
      // Module folders are plain names inside the snapshot.
      if (path.find("..") != std::string::npos || (!path.empty() && path[0] == '/')) {
        return parse_error(fmt::format("{}: module path \"{}\" leaves the model directory", modules_path.string(), path));
      }
      if (type == "Transformer") continue;
      if (type == "Pooling") {
        std::filesystem::path p = dir / path / "config.json";
        AIRLOCK_ASSIGN_OR_RETURN(std::string ptext, read_file_limited(p, kMaxConfigBytes));
        AIRLOCK_ASSIGN_OR_RETURN(st.pooling, parse_pooling_config(ptext, p.string(), &st.include_prompt));
      } else if (type == "Normalize") {
        st.normalize = true;
      } else if (type == "Dense") {
        std::filesystem::path p = dir / path;
        AIRLOCK_ASSIGN_OR_RETURN(JsonValue config, read_json(p / "config.json"));
        DenseLayer dense;
        try {
          dense.in_features = config.at("in_features").get<std::int64_t>();
          dense.out_features = config.at("out_features").get<std::int64_t>();
          dense.bias = config.value("bias", true);
          dense.activation = last_component(config.value("activation_function", "torch.nn.modules.linear.Identity"));
        } catch (const JsonValue::exception& e) {
          return parse_error(fmt::format("{}: {}", (p / "config.json").string(), e.what()));
        }
        if (dense.in_features <= 0 || dense.out_features <= 0 || dense.in_features > (1 << 20) ||
            dense.out_features > (1 << 20)) {
          return parse_error(fmt::format("{}: bad in_features/out_features", (p / "config.json").string()));
        }
        if (dense.activation != "Identity" && dense.activation != "Tanh") {
          return Error(ErrorCode::kUnsupported, fmt::format("{}: Dense activation {} is not supported",
                                                            (p / "config.json").string(), dense.activation));
        }
        AIRLOCK_ASSIGN_OR_RETURN(WeightStore weights, WeightStore::open_file(p / "model.safetensors"));
        AIRLOCK_ASSIGN_OR_RETURN(dense.weight, weights.load_f32("linear.weight", {dense.out_features, dense.in_features}));
        if (dense.bias) {
          AIRLOCK_ASSIGN_OR_RETURN(dense.bias_values, weights.load_f32("linear.bias", {dense.out_features}));
        }
        st.dense.push_back(std::move(dense));
      } else {
        return Error(ErrorCode::kUnsupported, fmt::format("{}: module type {} is not supported", modules_path.string(), type));
      }
    }
  }
  for (const char* name : {"sentence_bert_config.json", "sentence_roberta_config.json", "sentence_xlm-roberta_config.json"}) {
    std::filesystem::path p = dir / name;
    if (!std::filesystem::exists(p, ec)) continue;
    AIRLOCK_ASSIGN_OR_RETURN(JsonValue config, read_json(p));
    auto it = config.find("max_seq_length");
    if (it != config.end() && it->is_number_integer()) {
      std::int64_t v = it->get<std::int64_t>();
      if (v <= 0) return parse_error(fmt::format("{}: max_seq_length must be positive", p.string()));
      st.max_seq_length = v;
    }
    break;
  }
  std::filesystem::path prompts_path = dir / "config_sentence_transformers.json";
  if (std::filesystem::exists(prompts_path, ec)) {
    AIRLOCK_ASSIGN_OR_RETURN(JsonValue config, read_json(prompts_path));
    if (config.contains("prompts") && config.at("prompts").is_object()) {
      for (auto it = config.at("prompts").begin(); it != config.at("prompts").end(); ++it) {
        if (it.value().is_string()) st.prompts[it.key()] = it.value().get<std::string>();
      }
    }
    if (config.contains("default_prompt_name") && config.at("default_prompt_name").is_string()) {
      st.default_prompt_name = config.at("default_prompt_name").get<std::string>();
    }
  }
  return st;
}

}  // namespace airlock::engine
