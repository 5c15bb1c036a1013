#include "engine/model_registry.h"

#include <fmt/format.h>

namespace airlock::engine {
namespace {

const std::vector<Architecture>& registry() {
  static const std::vector<Architecture> kArchitectures = [] {
    std::vector<Architecture> a;
    const std::vector<std::string> bert_prefixes{"", "bert.", "model."};
    const std::vector<std::string> roberta_prefixes{"", "roberta.", "xlm-roberta.", "camembert.", "model."};
    for (const char* name : {"BertModel", "BertForMaskedLM", "BertForPreTraining"}) {
      a.push_back({name, EncoderFamily::kBert, PositionStyle::kAbsolute, HeadKind::kNone, bert_prefixes});
    }
    a.push_back({"BertForSequenceClassification", EncoderFamily::kBert, PositionStyle::kAbsolute, HeadKind::kBertClassifier,
                 {"bert.", ""}});
    for (const char* name : {"RobertaModel", "RobertaForMaskedLM", "XLMRobertaModel", "XLMRobertaForMaskedLM",
                             "CamembertModel", "CamembertForMaskedLM"}) {
      a.push_back({name, EncoderFamily::kBert, PositionStyle::kPaddingOffset, HeadKind::kNone, roberta_prefixes});
    }
    for (const char* name : {"RobertaForSequenceClassification", "XLMRobertaForSequenceClassification",
                             "CamembertForSequenceClassification"}) {
      a.push_back({name, EncoderFamily::kBert, PositionStyle::kPaddingOffset, HeadKind::kRobertaClassifier,
                   {"roberta.", "xlm-roberta.", "camembert.", ""}});
    }
    return a;
  }();
  return kArchitectures;
}

}  // namespace

std::vector<std::string> supported_architectures() {
  std::vector<std::string> names;
  for (const Architecture& a : registry()) names.push_back(a.name);
  return names;
}

Result<Architecture> resolve_architecture(const EncoderConfig& config) {
  for (const std::string& name : config.architectures) {
    for (const Architecture& a : registry()) {
      if (a.name == name) return a;
    }
  }
  // No (known) architectures entry: fall back to the model type's bare encoder.
  if (config.architectures.empty()) {
    if (config.model_type == "bert") return registry()[0];
    if (config.model_type == "roberta" || config.model_type == "xlm-roberta" || config.model_type == "camembert") {
      for (const Architecture& a : registry()) {
        if (a.name == "XLMRobertaModel") return a;
      }
    }
  }
  std::string names;
  for (const std::string& n : supported_architectures()) names += (names.empty() ? "" : ", ") + n;
  std::string given;
  for (const std::string& n : config.architectures) given += (given.empty() ? "" : ", ") + n;
  return Error(ErrorCode::kUnsupported,
               fmt::format("unsupported architecture {} (model_type \"{}\"); supported: {}",
                           given.empty() ? "(none given)" : given, config.model_type, names));
}

}  // namespace airlock::engine
