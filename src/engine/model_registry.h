// Which architectures the engine runs, keyed by config.json's `architectures` (then
// `model_type`). A new family (NomicBERT, ModernBERT, GTE, bidirectional Llama) adds an entry
// here and its layer math in a backend; nothing else changes.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "engine/encoder_weights.h"
#include "engine/model_config.h"

namespace airlock::engine {

enum class EncoderFamily { kBert };
enum class PositionStyle {
  kAbsolute,       // 0, 1, 2, ... (BERT)
  kPaddingOffset,  // pad_token_id + 1 + index over non-pad tokens (RoBERTa, XLM-R, CamemBERT)
};

struct Architecture {
  std::string name;
  EncoderFamily family = EncoderFamily::kBert;
  PositionStyle positions = PositionStyle::kAbsolute;
  HeadKind head = HeadKind::kNone;
  std::vector<std::string> prefixes;  // where checkpoints put the encoder's tensors
};

// The architecture for `config`, or a kUnsupported error listing what is supported.
Result<Architecture> resolve_architecture(const EncoderConfig& config);
std::vector<std::string> supported_architectures();

}  // namespace airlock::engine
