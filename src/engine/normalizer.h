// Normalizers of tokenizer.json ("normalizer"): text in, text out, applied to every piece of
// the input that is not an added token.
#pragma once

#include <memory>
#include <string>

#include "engine/json_value.h"
#include "core/result.h"

namespace airlock::engine {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::u32string& text) const = 0;
};

// Builds a normalizer from its tokenizer.json object; null JSON gives nullptr (no normalizer).
Result<std::unique_ptr<Normalizer>> make_normalizer(const JsonValue& json);

// The BERT normalizer on its own (for vocab.txt-only repositories).
std::unique_ptr<Normalizer> make_bert_normalizer(bool clean_text, bool handle_chinese_chars, bool strip_accents,
                                                 bool lowercase);

// True for the CJK ideograph blocks BERT surrounds with spaces.
bool is_chinese_char(char32_t c);

}  // namespace airlock::engine
