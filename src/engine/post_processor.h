// Post-processors of tokenizer.json: the special tokens and type ids around one text or a pair
// (TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence).
#pragma once

#include <memory>
#include <optional>

#include "engine/json_value.h"
#include "core/result.h"
#include "engine/encoding.h"

namespace airlock::engine {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // How many tokens process() adds (truncation leaves room for them).
  virtual std::size_t added_tokens(bool pair) const = 0;
  virtual Encoding process(Encoding first, std::optional<Encoding> second, bool add_special_tokens) const = 0;
};

Result<std::unique_ptr<PostProcessor>> make_post_processor(const JsonValue& json);
// [CLS] A [SEP] (B [SEP]), as BERT's vocab.txt-only repositories need.
std::unique_ptr<PostProcessor> make_bert_post_processor(std::string cls, std::int32_t cls_id, std::string sep,
                                                        std::int32_t sep_id);

// Without a post-processor: the pair is concatenated as it is.
Encoding merge_encodings(Encoding first, std::optional<Encoding> second);

}  // namespace airlock::engine
