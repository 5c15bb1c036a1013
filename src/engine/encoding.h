// The output of a tokenizer for one input (a text or a pair): what the model consumes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace airlock::engine {

struct Encoding {
  std::vector<std::int32_t> ids;
  std::vector<std::int32_t> type_ids;
  std::vector<std::string> tokens;
  std::vector<std::uint8_t> special_tokens_mask;
  std::vector<std::uint8_t> attention_mask;

  std::size_t size() const { return ids.size(); }
  void append(const Encoding& other) {
    ids.insert(ids.end(), other.ids.begin(), other.ids.end());
    type_ids.insert(type_ids.end(), other.type_ids.begin(), other.type_ids.end());
    tokens.insert(tokens.end(), other.tokens.begin(), other.tokens.end());
    special_tokens_mask.insert(special_tokens_mask.end(), other.special_tokens_mask.begin(),
                               other.special_tokens_mask.end());
    attention_mask.insert(attention_mask.end(), other.attention_mask.begin(), other.attention_mask.end());
  }
  void push(std::int32_t id, std::int32_t type_id, std::string token, bool special) {
    ids.push_back(id);
    type_ids.push_back(type_id);
    tokens.push_back(std::move(token));
    special_tokens_mask.push_back(special ? 1 : 0);
    attention_mask.push_back(1);
  }
  // Keeps `length` tokens from the right end (left truncation) or the left end.
  void truncate(std::size_t length, bool from_left) {
    if (length >= ids.size()) return;
    auto keep = [&](auto& v) {
      if (from_left) {
        v.erase(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() - length));
      } else {
        v.resize(length);
      }
    };
    keep(ids);
    keep(type_ids);
    keep(tokens);
    keep(special_tokens_mask);
    keep(attention_mask);
  }
};

}  // namespace airlock::engine
