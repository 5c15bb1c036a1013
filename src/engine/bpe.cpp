#include "engine/bpe.h"

#include <fmt/format.h>

#include <queue>

#include "engine/unicode.h"

namespace airlock::engine {
namespace {

std::string optional_string(const JsonValue& json, const char* key) {
  auto it = json.find(key);
  if (it == json.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

}  // namespace

Result<std::unique_ptr<Bpe>> Bpe::from_json(const JsonValue& json) {
  auto model = std::unique_ptr<Bpe>(new Bpe());
  const JsonValue& vocab = json.at("vocab");
  if (!vocab.is_object()) return parse_error("BPE: \"vocab\" must be an object of token → id");
  std::size_t size = 0;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    auto id = it.value().get<std::int32_t>();
    if (id < 0) return parse_error(fmt::format("BPE: negative id for \"{}\"", it.key()));
    model->vocab_.insert_or_assign(it.key(), id);
    size = std::max(size, static_cast<std::size_t>(id) + 1);
  }
  if (size > model->vocab_.size() * 4 + 1024) return parse_error("BPE: vocabulary ids are too sparse");
  model->tokens_.resize(size);
  for (const auto& [token, id] : model->vocab_) model->tokens_[static_cast<std::size_t>(id)] = token;
  model->prefix_ = optional_string(json, "continuing_subword_prefix");
  model->suffix_ = optional_string(json, "end_of_word_suffix");
  if (json.contains("unk_token") && json.at("unk_token").is_string()) {
    model->unk_token_ = json.at("unk_token").get<std::string>();
  }
  model->fuse_unk_ = json.value("fuse_unk", false);
  model->byte_fallback_ = json.value("byte_fallback", false);
  model->ignore_merges_ = json.value("ignore_merges", false);
  if (json.contains("dropout") && !json.at("dropout").is_null() && json.at("dropout").get<double>() > 0) {
    return Error(ErrorCode::kUnsupported, "BPE: dropout is for training; a model with dropout set cannot run here");
  }
  const JsonValue& merges = json.at("merges");
  if (!merges.is_array()) return parse_error("BPE: \"merges\" must be a list");
  std::uint32_t rank = 0;
  for (const JsonValue& merge : merges) {
    std::string a, b;
    if (merge.is_string()) {
      std::string line = merge.get<std::string>();
      std::size_t space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
        return parse_error(fmt::format("BPE: merge {} (\"{}\") is not two tokens separated by one space", rank + 1, line));
      }
      a = line.substr(0, space);
      b = line.substr(space + 1);
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
      a = merge[0].get<std::string>();
      b = merge[1].get<std::string>();
    } else {
      return parse_error(fmt::format("BPE: merge {} is neither \"a b\" nor [\"a\", \"b\"]", rank + 1));
    }
    auto ia = model->vocab_.find(a);
    auto ib = model->vocab_.find(b);
    if (ia == model->vocab_.end() || ib == model->vocab_.end()) {
      return parse_error(fmt::format("BPE: merge {} uses a token that is not in the vocabulary", rank + 1));
    }
    std::size_t skip = std::min(model->prefix_.size(), b.size());
    std::string merged = a + b.substr(skip);
    auto im = model->vocab_.find(merged);
    if (im == model->vocab_.end()) {
      return parse_error(fmt::format("BPE: merge {} makes \"{}\", which is not in the vocabulary", rank + 1, merged));
    }
    model->merges_.insert_or_assign(pair_key(ia->second, ib->second), Merge{rank, im->second});
    ++rank;
  }
  return model;
}

const Bpe::Merge* Bpe::find_merge(std::int32_t a, std::int32_t b) const {
  auto it = merges_.find(pair_key(a, b));
  return it == merges_.end() ? nullptr : &it->second;
}

Status Bpe::tokenize(std::u32string_view word, std::vector<Token>& out) const {
  if (word.empty()) return ok_status();
  if (ignore_merges_) {
    std::string whole = unicode::encode_utf8(word);
    auto it = vocab_.find(whole);
    if (it != vocab_.end()) {
      out.push_back({it->second, std::move(whole)});
      return ok_status();
    }
  }
  // Symbols as a doubly linked list over a vector; len 0 marks a merged-away symbol.
  struct Symbol {
    std::int32_t id;
    std::ptrdiff_t prev, next;
    bool alive;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  auto add = [&](std::int32_t id) {
    auto index = static_cast<std::ptrdiff_t>(symbols.size());
    symbols.push_back({id, index - 1, index + 1, true});
  };
  std::optional<std::int32_t> pending_unk;
  std::string piece;
  for (std::size_t i = 0; i < word.size(); ++i) {
    piece.clear();
    if (i > 0) piece += prefix_;
    unicode::append_utf8(word[i], piece);
    if (i + 1 == word.size()) piece += suffix_;
    auto it = vocab_.find(piece);
    if (it != vocab_.end()) {
      if (pending_unk) {
        add(*pending_unk);
        pending_unk.reset();
      }
      add(it->second);
      continue;
    }
    if (byte_fallback_) {
      std::vector<std::int32_t> bytes;
      for (char b : piece) {
        auto found = vocab_.find(fmt::format("<0x{:02X}>", static_cast<unsigned char>(b)));
        if (found == vocab_.end()) break;
        bytes.push_back(found->second);
      }
      if (bytes.size() == piece.size()) {
        for (std::int32_t id : bytes) add(id);
        continue;
      }
    }
    if (unk_token_) {
      auto unk = vocab_.find(*unk_token_);
      if (unk == vocab_.end()) {
        return parse_error(fmt::format("BPE: the unknown token \"{}\" is not in the vocabulary", *unk_token_));
      }
      if (pending_unk && !fuse_unk_) add(*pending_unk);
      pending_unk = unk->second;
    }
    // Without an unknown token, a character outside the vocabulary is dropped (as `tokenizers` does).
  }
  if (pending_unk) add(*pending_unk);
  if (symbols.empty()) return ok_status();
  symbols.back().next = -1;

  struct Candidate {
    std::uint32_t rank;
    std::size_t pos;
    std::int32_t new_id;
    bool operator>(const Candidate& other) const {
      return rank != other.rank ? rank > other.rank : pos > other.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (const Merge* m = find_merge(symbols[i].id, symbols[i + 1].id)) queue.push({m->rank, i, m->new_id});
  }
  while (!queue.empty()) {
    Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (!left.alive || left.next < 0) continue;
    auto right_pos = static_cast<std::size_t>(left.next);
    Symbol& right = symbols[right_pos];
    const Merge* m = find_merge(left.id, right.id);
    if (m == nullptr || m->new_id != top.new_id) continue;  // stale entry
    left.id = top.new_id;
    left.next = right.next;
    right.alive = false;
    if (right.next >= 0) symbols[static_cast<std::size_t>(right.next)].prev = static_cast<std::ptrdiff_t>(top.pos);
    if (left.prev >= 0) {
      auto prev = static_cast<std::size_t>(left.prev);
      if (const Merge* pm = find_merge(symbols[prev].id, left.id)) queue.push({pm->rank, prev, pm->new_id});
    }
    if (left.next >= 0) {
      if (const Merge* nm = find_merge(left.id, symbols[static_cast<std::size_t>(left.next)].id)) {
        queue.push({nm->rank, top.pos, nm->new_id});
      }
    }
  }
  for (const Symbol& s : symbols) {
    if (!s.alive) continue;
    std::optional<std::string> text = id_to_token(s.id);
    out.push_back({s.id, text.value_or("")});
  }
  return ok_status();
}

std::optional<std::int32_t> Bpe::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Bpe::id_to_token(std::int32_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= tokens_.size()) return std::nullopt;
  return tokens_[static_cast<std::size_t>(id)];
}

}  // namespace airlock::engine
