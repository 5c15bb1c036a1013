// Pre-tokenizers of tokenizer.json ("pre_tokenizer"): split normalized text into the words the
// model tokenizes one by one, with the exact splitting rules of Hugging Face `tokenizers`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/json_value.h"
#include "core/result.h"

namespace airlock::engine {

struct PreToken {
  std::u32string text;
  bool at_start = false;  // begins at offset 0 of the original input (Metaspace "first")
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces `pieces` with their splits; empty pieces are dropped.
  virtual void pre_tokenize(std::vector<PreToken>& pieces) const = 0;
};

Result<std::unique_ptr<PreTokenizer>> make_pre_tokenizer(const JsonValue& json);
std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer();

// The byte → printable character map of byte-level BPE (GPT-2's bytes_to_unicode).
char32_t byte_to_char(unsigned char byte);

}  // namespace airlock::engine
