#include "engine/unigram.h"

#include <fmt/format.h>

#include <limits>

#include "engine/unicode.h"

namespace airlock::engine {
namespace {

// What SentencePiece (and `tokenizers`) charge for a character no piece covers.
constexpr double kUnknownPenalty = 10.0;

}  // namespace

Result<std::unique_ptr<Unigram>> Unigram::from_json(const JsonValue& json) {
  auto model = std::unique_ptr<Unigram>(new Unigram());
  const JsonValue& vocab = json.at("vocab");
  if (!vocab.is_array()) return parse_error("Unigram: \"vocab\" must be a list of [piece, score]");
  model->min_score_ = std::numeric_limits<double>::infinity();
  for (const JsonValue& entry : vocab) {
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_number()) {
      return parse_error("Unigram: each vocab entry must be [piece, score]");
    }
    std::string piece = entry[0].get<std::string>();
    double score = entry[1].get<double>();
    auto id = static_cast<std::int32_t>(model->pieces_.size());
    model->ids_.insert_or_assign(piece, id);
    model->max_piece_bytes_ = std::max(model->max_piece_bytes_, piece.size());
    model->min_score_ = std::min(model->min_score_, score);
    model->pieces_.emplace_back(std::move(piece), score);
  }
  if (model->pieces_.empty()) return parse_error("Unigram: empty vocabulary");
  if (json.contains("unk_id") && !json.at("unk_id").is_null()) {
    auto unk = json.at("unk_id").get<std::int64_t>();
    if (unk < 0 || static_cast<std::size_t>(unk) >= model->pieces_.size()) {
      return parse_error(fmt::format("Unigram: unk_id {} is outside the vocabulary", unk));
    }
    model->unk_id_ = static_cast<std::int32_t>(unk);
  }
  model->byte_fallback_ = json.value("byte_fallback", false);
  return model;
}

Status Unigram::tokenize(std::u32string_view word, std::vector<Token>& out) const {
  if (word.empty()) return ok_status();
  std::string text = unicode::encode_utf8(word);
  const std::size_t size = text.size();
  struct Node {
    std::int32_t id = -1;
    double score = 0;
    std::size_t start = 0;
    bool reached = false;
  };
  std::vector<Node> best(size + 1);
  best[0].reached = true;
  const double unk_score = min_score_ - kUnknownPenalty;
  std::size_t start = 0;
  while (start < size) {
    double base = best[start].score;
    auto char_length = static_cast<std::size_t>(unicode::utf8_sequence_length(static_cast<unsigned char>(text[start])));
    char_length = std::min(char_length, size - start);
    bool single = false;
    // Every vocabulary piece that is a prefix here, shortest first (the order of a trie walk,
    // which decides ties).
    std::size_t limit = std::min(max_piece_bytes_, size - start);
    for (std::size_t length = 1; length <= limit; ++length) {
      auto it = ids_.find(std::string_view(text).substr(start, length));
      if (it == ids_.end()) continue;
      double candidate = base + pieces_[static_cast<std::size_t>(it->second)].second;
      Node& target = best[start + length];
      if (!target.reached || candidate > target.score) {
        target = {it->second, candidate, start, true};
      }
      if (length == char_length) single = true;
    }
    if (!single) {
      if (!unk_id_) return parse_error("Unigram: a character is not in the vocabulary and the model has no unk_id");
      double candidate = base + unk_score;
      Node& target = best[start + char_length];
      if (!target.reached || candidate > target.score) target = {*unk_id_, candidate, start, true};
    }
    start += char_length;
  }
  // Walk back; runs of <unk> become one token.
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  std::size_t end = size;
  std::size_t unk_end = 0;
  bool in_unk = false;
  while (end > 0) {
    const Node& node = best[end];
    if (unk_id_ && node.id == *unk_id_) {
      if (!in_unk) {
        in_unk = true;
        unk_end = end;
      }
    } else {
      if (in_unk) {
        spans.emplace_back(end, unk_end);
        in_unk = false;
      }
      spans.emplace_back(node.start, end);
    }
    end = node.start;
  }
  if (in_unk) spans.emplace_back(0, unk_end);
  for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
    std::string piece = text.substr(it->first, it->second - it->first);
    auto found = ids_.find(piece);
    if (found != ids_.end()) {
      out.push_back({found->second, std::move(piece)});
      continue;
    }
    if (byte_fallback_) {
      std::vector<Token> bytes;
      for (char b : piece) {
        std::string name = fmt::format("<0x{:02X}>", static_cast<unsigned char>(b));
        auto byte_id = ids_.find(name);
        if (byte_id == ids_.end()) break;
        bytes.push_back({byte_id->second, std::move(name)});
      }
      if (bytes.size() == piece.size()) {
        for (Token& t : bytes) out.push_back(std::move(t));
        continue;
      }
    }
    if (!unk_id_) return parse_error("Unigram: a piece is not in the vocabulary and the model has no unk_id");
    out.push_back({*unk_id_, std::move(piece)});
  }
  return ok_status();
}

std::optional<std::int32_t> Unigram::token_to_id(std::string_view token) const {
  auto it = ids_.find(token);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Unigram::id_to_token(std::int32_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= pieces_.size()) return std::nullopt;
  return pieces_[static_cast<std::size_t>(id)].first;
}

}  // namespace airlock::engine
