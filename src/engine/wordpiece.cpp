#include "engine/wordpiece.h"

#include <fmt/format.h>

#include "engine/unicode.h"

namespace airlock::engine {

Result<std::unique_ptr<WordPiece>> WordPiece::create(Vocab vocab, std::string unk_token,
                                                     std::string continuing_subword_prefix,
                                                     std::size_t max_input_chars_per_word) {
  auto model = std::unique_ptr<WordPiece>(new WordPiece());
  auto unk = vocab.find(unk_token);
  if (unk == vocab.end()) {
    return parse_error(fmt::format("WordPiece: the unknown token \"{}\" is not in the vocabulary", unk_token));
  }
  model->unk_id_ = unk->second;
  std::size_t size = 0;
  for (const auto& [token, id] : vocab) {
    if (id < 0) return parse_error(fmt::format("WordPiece: negative id for \"{}\"", token));
    size = std::max(size, static_cast<std::size_t>(id) + 1);
  }
  if (size > vocab.size() * 4 + 1024) return parse_error("WordPiece: vocabulary ids are too sparse");
  model->tokens_.resize(size);
  for (const auto& [token, id] : vocab) {
    model->tokens_[static_cast<std::size_t>(id)] = token;
    model->max_token_bytes_ = std::max(model->max_token_bytes_, token.size());
  }
  model->vocab_ = std::move(vocab);
  model->unk_token_ = std::move(unk_token);
  model->prefix_ = std::move(continuing_subword_prefix);
  model->max_chars_ = max_input_chars_per_word;
  return model;
}

Result<std::unique_ptr<WordPiece>> WordPiece::from_json(const JsonValue& json) {
  Vocab vocab;
  const JsonValue& entries = json.at("vocab");
  if (!entries.is_object()) return parse_error("WordPiece: \"vocab\" must be an object of token → id");
  for (auto it = entries.begin(); it != entries.end(); ++it) {
    vocab.insert_or_assign(it.key(), it.value().get<std::int32_t>());
  }
  std::string prefix = "##";
  if (json.contains("continuing_subword_prefix") && json.at("continuing_subword_prefix").is_string()) {
    prefix = json.at("continuing_subword_prefix").get<std::string>();
  }
  return create(std::move(vocab), json.value("unk_token", "[UNK]"), prefix,
                json.value("max_input_chars_per_word", std::size_t{100}));
}

Result<std::unique_ptr<WordPiece>> WordPiece::from_vocab_file(std::string_view text, std::string unk_token) {
  Vocab vocab;
  std::int32_t id = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // As transformers' load_vocab: the line minus its newline; a repeated token keeps the last id.
    vocab.insert_or_assign(std::string(line), id);
    ++id;
    pos = end + 1;
  }
  return create(std::move(vocab), std::move(unk_token), "##", 100);
}

Status WordPiece::tokenize(std::u32string_view word, std::vector<Token>& out) const {
  if (word.size() > max_chars_) {
    out.push_back({unk_id_, unk_token_});
    return ok_status();
  }
  std::string utf8 = unicode::encode_utf8(word);
  // Byte offsets of character boundaries, so that candidates shrink one character at a time.
  std::vector<std::size_t> bounds;
  bounds.reserve(word.size() + 1);
  for (std::size_t i = 0; i < utf8.size(); i += static_cast<std::size_t>(unicode::utf8_sequence_length(static_cast<unsigned char>(utf8[i])))) {
    bounds.push_back(i);
  }
  bounds.push_back(utf8.size());
  std::size_t first_new = out.size();
  std::string candidate;
  std::size_t start = 0;  // index into bounds
  while (bounds[start] < utf8.size()) {
    std::size_t end = bounds.size() - 1;
    std::size_t budget = max_token_bytes_ - (start > 0 ? std::min(prefix_.size(), max_token_bytes_) : 0);
    while (end > start && bounds[end] - bounds[start] > budget) --end;
    bool found = false;
    while (end > start) {
      candidate.clear();
      if (start > 0) candidate += prefix_;
      candidate.append(utf8, bounds[start], bounds[end] - bounds[start]);
      auto it = vocab_.find(std::string_view(candidate));
      if (it != vocab_.end()) {
        out.push_back({it->second, candidate});
        found = true;
        break;
      }
      --end;
    }
    if (!found) {
      out.resize(first_new);
      out.push_back({unk_id_, unk_token_});
      return ok_status();
    }
    start = end;
  }
  return ok_status();
}

std::optional<std::int32_t> WordPiece::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> WordPiece::id_to_token(std::int32_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= tokens_.size()) return std::nullopt;
  return tokens_[static_cast<std::size_t>(id)];
}

}  // namespace airlock::engine
