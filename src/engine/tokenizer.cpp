#include "engine/tokenizer.h"

#include <fmt/format.h>

#include "core/file_io.h"
#include "engine/json_value.h"
#include "engine/bpe.h"
#include "engine/normalizer.h"
#include "engine/post_processor.h"
#include "engine/pre_tokenizer.h"
#include "engine/tokenizer_model.h"
#include "engine/unicode.h"
#include "engine/unigram.h"
#include "engine/wordpiece.h"

namespace airlock::engine {

namespace {

// tokenizer.json files of real repositories are a few MB (XLM-R: 17 MB); refuse absurd ones.
constexpr std::uint64_t kMaxTokenizerFileBytes = 512ull << 20;
constexpr std::size_t kMaxPaddedLength = 1 << 20;

struct AddedMatcher {
  std::vector<std::u32string> patterns;  // index = index into added tokens
  std::vector<std::size_t> token_index;
};

// The `regex` crate's \w, which `tokenizers` uses for single_word added tokens.
bool is_word_char(char32_t c) { return unicode::is_rust_word(c); }

}  // namespace

struct TokenizerParts {
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<TokenizerModel> model;
  std::unique_ptr<PostProcessor> post_processor;
  std::vector<AddedToken> added;
  AddedMatcher raw_matcher;         // added tokens with normalized == false, on the raw text
  AddedMatcher normalized_matcher;  // the others, normalized, on the normalized text
  std::optional<TruncationParams> truncation;
  std::optional<PaddingParams> padding;

  void build_matchers() {
    raw_matcher = {};
    normalized_matcher = {};
    for (std::size_t i = 0; i < added.size(); ++i) {
      std::u32string content = unicode::decode_utf8(added[i].content);
      if (added[i].normalized && normalizer) normalizer->normalize(content);
      if (content.empty()) continue;
      AddedMatcher& m = added[i].normalized ? normalized_matcher : raw_matcher;
      m.patterns.push_back(std::move(content));
      m.token_index.push_back(i);
    }
  }

  struct Segment {
    std::u32string text;
    std::optional<std::size_t> added;  // index into `added` when this is an added token
    bool at_start;
  };

  // Splits `text` around the added tokens of `matcher` (leftmost-longest, as aho-corasick).
  void split_added(const Segment& input, const AddedMatcher& matcher, std::vector<Segment>& out) const {
    const std::u32string& s = input.text;
    std::size_t last = 0;  // end of the previous split
    std::size_t i = 0;
    while (i < s.size()) {
      std::size_t best = SIZE_MAX, best_length = 0;
      for (std::size_t p = 0; p < matcher.patterns.size(); ++p) {
        const std::u32string& pattern = matcher.patterns[p];
        if (pattern.size() > best_length && s.compare(i, pattern.size(), pattern) == 0) {
          best = p;
          best_length = pattern.size();
        }
      }
      if (best == SIZE_MAX) {
        ++i;
        continue;
      }
      std::size_t start = i, stop = i + best_length;
      const AddedToken& token = added[matcher.token_index[best]];
      if (token.single_word) {
        bool start_ok = start == 0 || !is_word_char(s[start - 1]);
        bool stop_ok = stop == s.size() || !is_word_char(s[stop]);
        if (!start_ok || !stop_ok) {
          // aho-corasick's leftmost-longest iterator moves past this match.
          i = stop;
          continue;
        }
      }
      if (token.lstrip) {
        std::size_t new_start = start;
        while (new_start > 0 && unicode::is_whitespace(s[new_start - 1])) --new_start;
        start = std::max(new_start, last);
      }
      if (token.rstrip) {
        while (stop < s.size() && unicode::is_whitespace(s[stop])) ++stop;
      }
      if (last < start) out.push_back({s.substr(last, start - last), std::nullopt, input.at_start && last == 0});
      out.push_back({s.substr(start, stop - start), matcher.token_index[best], false});
      last = stop;
      i = stop;
    }
    if (last < s.size() || s.empty()) out.push_back({s.substr(last), std::nullopt, input.at_start && last == 0});
  }

  Result<Encoding> encode_sequence(std::string_view text, std::int32_t type_id) const {
    std::vector<Segment> raw;
    split_added({unicode::decode_utf8(text), std::nullopt, true}, raw_matcher, raw);
    std::vector<Segment> segments;
    for (Segment& segment : raw) {
      if (segment.added) {
        segments.push_back(std::move(segment));
        continue;
      }
      if (normalizer) normalizer->normalize(segment.text);
      split_added(segment, normalized_matcher, segments);
    }
    Encoding encoding;
    std::vector<PreToken> pieces;
    std::vector<Token> tokens;
    for (Segment& segment : segments) {
      if (segment.added) {
        const AddedToken& token = added[*segment.added];
        encoding.push(token.id, type_id, token.content, false);
        continue;
      }
      if (segment.text.empty()) continue;
      pieces.clear();
      pieces.push_back({std::move(segment.text), segment.at_start});
      if (pre_tokenizer) pre_tokenizer->pre_tokenize(pieces);
      for (const PreToken& piece : pieces) {
        if (piece.text.empty()) continue;
        tokens.clear();
        AIRLOCK_TRY(model->tokenize(piece.text, tokens));
        for (Token& t : tokens) encoding.push(t.id, type_id, std::move(t.text), false);
      }
    }
    return encoding;
  }
};

namespace {

void truncate_pair(Encoding& first, std::optional<Encoding>& second, const TruncationParams& params,
                   std::size_t max_length) {
  bool left = params.direction == Side::kLeft;
  if (max_length == 0) {
    first.truncate(0, left);
    if (second) second->truncate(0, left);
    return;
  }
  std::size_t total = first.size() + (second ? second->size() : 0);
  if (total <= max_length) return;
  std::size_t to_remove = total - max_length;
  switch (params.strategy) {
    case TruncationStrategy::kLongestFirst:
      if (second) {
        std::size_t n1 = first.size(), n2 = second->size();
        bool swap = n1 > n2;
        if (swap) std::swap(n1, n2);
        if (n1 > max_length) {
          n2 = n1;
        } else {
          n2 = std::max(n1, max_length - n1);
        }
        if (n1 + n2 > max_length) {
          n1 = max_length / 2;
          n2 = n1 + max_length % 2;
        }
        if (swap) std::swap(n1, n2);
        first.truncate(n1, left);
        second->truncate(n2, left);
      } else {
        first.truncate(total - to_remove, left);
      }
      break;
    case TruncationStrategy::kOnlyFirst:
    case TruncationStrategy::kOnlySecond: {
      Encoding* target = params.strategy == TruncationStrategy::kOnlyFirst ? &first : (second ? &*second : nullptr);
      if (target != nullptr && target->size() > to_remove) target->truncate(target->size() - to_remove, left);
      break;
    }
  }
}

void pad(Encoding& e, const PaddingParams& params) {
  std::size_t target = params.fixed_length.value_or(e.size());
  if (params.multiple_of > 0 && target % params.multiple_of != 0) {
    target += params.multiple_of - target % params.multiple_of;
  }
  if (e.size() >= target) return;
  std::size_t n = target - e.size();
  Encoding padding;
  for (std::size_t i = 0; i < n; ++i) padding.push(params.pad_id, params.pad_type_id, params.pad_token, true);
  std::fill(padding.attention_mask.begin(), padding.attention_mask.end(), 0);
  if (params.direction == Side::kRight) {
    e.append(padding);
  } else {
    padding.append(e);
    e = std::move(padding);
  }
}

Result<Side> parse_side(const JsonValue& json) {
  std::string s = json.is_string() ? json.get<std::string>() : "";
  if (s == "Right") return Side::kRight;
  if (s == "Left") return Side::kLeft;
  return parse_error(fmt::format("unknown direction \"{}\"", s));
}

Result<std::optional<TruncationParams>> parse_truncation(const JsonValue& json) {
  if (json.is_null()) return std::optional<TruncationParams>();
  TruncationParams p;
  p.max_length = json.at("max_length").get<std::size_t>();
  std::string strategy = json.value("strategy", "LongestFirst");
  if (strategy == "LongestFirst") {
    p.strategy = TruncationStrategy::kLongestFirst;
  } else if (strategy == "OnlyFirst") {
    p.strategy = TruncationStrategy::kOnlyFirst;
  } else if (strategy == "OnlySecond") {
    p.strategy = TruncationStrategy::kOnlySecond;
  } else {
    return parse_error(fmt::format("truncation: unknown strategy \"{}\"", strategy));
  }
  if (json.contains("direction")) {
    AIRLOCK_ASSIGN_OR_RETURN(p.direction, parse_side(json.at("direction")));
  }
  if (json.value("stride", 0) != 0) return Error(ErrorCode::kUnsupported, "truncation: a stride (overflowing windows) is not supported");
  return std::optional<TruncationParams>(p);
}

Result<std::optional<PaddingParams>> parse_padding(const JsonValue& json) {
  if (json.is_null()) return std::optional<PaddingParams>();
  PaddingParams p;
  const JsonValue& strategy = json.at("strategy");
  if (strategy.is_object() && strategy.contains("Fixed")) {
    p.fixed_length = strategy.at("Fixed").get<std::size_t>();
    if (*p.fixed_length > kMaxPaddedLength) return parse_error("padding: a fixed length over 1,048,576 tokens");
  } else if (!(strategy.is_string() && strategy.get<std::string>() == "BatchLongest")) {
    return parse_error("padding: strategy must be \"BatchLongest\" or {\"Fixed\": n}");
  }
  if (json.contains("direction")) {
    AIRLOCK_ASSIGN_OR_RETURN(p.direction, parse_side(json.at("direction")));
  }
  if (json.contains("pad_to_multiple_of") && !json.at("pad_to_multiple_of").is_null()) {
    p.multiple_of = json.at("pad_to_multiple_of").get<std::size_t>();
    if (p.multiple_of > kMaxPaddedLength) return parse_error("padding: pad_to_multiple_of over 1,048,576");
  }
  p.pad_id = json.value("pad_id", 0);
  p.pad_type_id = json.value("pad_type_id", 0);
  p.pad_token = json.value("pad_token", "[PAD]");
  return std::optional<PaddingParams>(p);
}

Result<std::unique_ptr<TokenizerModel>> make_model(const JsonValue& json) {
  if (!json.is_object()) return parse_error("model: expected an object");
  std::string type = json.value("type", "");
  if (type.empty()) {
    // Old files omit the type: recognise the model by its fields.
    if (json.contains("merges")) {
      type = "BPE";
    } else if (json.contains("vocab") && json.at("vocab").is_array()) {
      type = "Unigram";
    } else if (json.contains("continuing_subword_prefix") || json.contains("max_input_chars_per_word")) {
      type = "WordPiece";
    }
  }
  if (type == "WordPiece") {
    AIRLOCK_ASSIGN_OR_RETURN(auto m, WordPiece::from_json(json));
    return std::unique_ptr<TokenizerModel>(std::move(m));
  }
  if (type == "Unigram") {
    AIRLOCK_ASSIGN_OR_RETURN(auto m, Unigram::from_json(json));
    return std::unique_ptr<TokenizerModel>(std::move(m));
  }
  if (type == "BPE") {
    AIRLOCK_ASSIGN_OR_RETURN(auto m, Bpe::from_json(json));
    return std::unique_ptr<TokenizerModel>(std::move(m));
  }
  return Error(ErrorCode::kUnsupported, fmt::format("model type \"{}\" is not supported (WordPiece, Unigram, BPE are)", type));
}

Result<std::unique_ptr<TokenizerParts>> parse_parts(const JsonValue& json) {
  if (!json.is_object()) return parse_error("expected a JSON object");
  auto parts = std::make_unique<TokenizerParts>();
  auto field = [&](const char* key) -> const JsonValue& {
    static const JsonValue kNull;
    auto it = json.find(key);
    return it == json.end() ? kNull : *it;
  };
  AIRLOCK_ASSIGN_OR_RETURN(parts->normalizer, make_normalizer(field("normalizer")));
  AIRLOCK_ASSIGN_OR_RETURN(parts->pre_tokenizer, make_pre_tokenizer(field("pre_tokenizer")));
  if (field("model").is_null()) return parse_error("no \"model\"");
  AIRLOCK_ASSIGN_OR_RETURN(parts->model, make_model(field("model")));
  AIRLOCK_ASSIGN_OR_RETURN(parts->post_processor, make_post_processor(field("post_processor")));
  AIRLOCK_ASSIGN_OR_RETURN(parts->truncation, parse_truncation(field("truncation")));
  AIRLOCK_ASSIGN_OR_RETURN(parts->padding, parse_padding(field("padding")));
  const JsonValue& added = field("added_tokens");
  if (!added.is_null()) {
    if (!added.is_array()) return parse_error("\"added_tokens\" must be a list");
    for (const JsonValue& t : added) {
      AddedToken token;
      token.content = t.at("content").get<std::string>();
      token.id = t.at("id").get<std::int32_t>();
      token.single_word = t.value("single_word", false);
      token.lstrip = t.value("lstrip", false);
      token.rstrip = t.value("rstrip", false);
      token.special = t.value("special", false);
      token.normalized = t.value("normalized", !token.special);
      parts->added.push_back(std::move(token));
    }
  }
  parts->build_matchers();
  return parts;
}

std::string special_token(const JsonValue& config, const JsonValue& map, const char* key, const char* fallback) {
  for (const JsonValue* source : {&map, &config}) {
    auto it = source->find(key);
    if (it == source->end()) continue;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object() && it->contains("content") && it->at("content").is_string()) {
      return it->at("content").get<std::string>();
    }
  }
  return fallback;
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<TokenizerParts> parts) : parts_(std::move(parts)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Result<Tokenizer> Tokenizer::from_json(std::string_view json_text, std::string_view source) {
  AIRLOCK_ASSIGN_OR_RETURN(JsonValue json, parse_json_value(json_text, source));
  Result<std::unique_ptr<TokenizerParts>> parts = [&]() -> Result<std::unique_ptr<TokenizerParts>> {
    try {
      return parse_parts(json);
    } catch (const JsonValue::exception& e) {
      // A field of the wrong type or a missing required field.
      return parse_error(fmt::format("unexpected structure ({})", e.what()));
    }
  }();
  if (!parts.ok()) return parts.error().with_context(source);
  return Tokenizer(std::move(parts).value());
}

Result<Tokenizer> Tokenizer::load(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::path json_path = dir / "tokenizer.json";
  if (std::filesystem::exists(json_path, ec)) {
    AIRLOCK_ASSIGN_OR_RETURN(std::string text, read_file_limited(json_path, kMaxTokenizerFileBytes));
    return from_json(text, json_path.string());
  }
  std::filesystem::path vocab_path = dir / "vocab.txt";
  if (!std::filesystem::exists(vocab_path, ec)) {
    return not_found(fmt::format("{}: neither tokenizer.json nor vocab.txt found", dir.string()));
  }
  JsonValue config = JsonValue::object(), map = JsonValue::object();
  for (auto [name, target] : {std::pair{"tokenizer_config.json", &config}, std::pair{"special_tokens_map.json", &map}}) {
    std::filesystem::path p = dir / name;
    if (std::filesystem::exists(p, ec)) {
      AIRLOCK_ASSIGN_OR_RETURN(std::string text, read_file_limited(p, kMaxTokenizerFileBytes));
      AIRLOCK_ASSIGN_OR_RETURN(*target, parse_json_value(text, p.string()));
      if (!target->is_object()) return parse_error(fmt::format("{}: expected a JSON object", p.string()));
    }
  }
  AIRLOCK_ASSIGN_OR_RETURN(std::string vocab_text, read_file_limited(vocab_path, kMaxTokenizerFileBytes));
  auto parts = std::make_unique<TokenizerParts>();
  auto flag = [&](const char* key, bool fallback) {
    auto it = config.find(key);
    return it != config.end() && it->is_boolean() ? it->get<bool>() : fallback;
  };
  bool lowercase = flag("do_lower_case", true);
  bool strip_accents = lowercase;
  if (config.contains("strip_accents") && config.at("strip_accents").is_boolean()) {
    strip_accents = config.at("strip_accents").get<bool>();
  }
  parts->normalizer = make_bert_normalizer(true, flag("tokenize_chinese_chars", true), strip_accents, lowercase);
  parts->pre_tokenizer = make_bert_pre_tokenizer();
  std::string unk = special_token(config, map, "unk_token", "[UNK]");
  std::string cls = special_token(config, map, "cls_token", "[CLS]");
  std::string sep = special_token(config, map, "sep_token", "[SEP]");
  std::string pad = special_token(config, map, "pad_token", "[PAD]");
  std::string mask = special_token(config, map, "mask_token", "[MASK]");
  auto model = WordPiece::from_vocab_file(vocab_text, unk);
  if (!model.ok()) return model.error().with_context(vocab_path.string());
  parts->model = std::move(model).value();
  for (const std::string& name : {cls, sep}) {
    if (!parts->model->token_to_id(name)) {
      return parse_error(fmt::format("{}: the special token \"{}\" is not in the vocabulary", vocab_path.string(), name));
    }
  }
  parts->post_processor =
      make_bert_post_processor(cls, *parts->model->token_to_id(cls), sep, *parts->model->token_to_id(sep));
  for (const std::string& name : {pad, unk, cls, sep, mask}) {
    std::optional<std::int32_t> id = parts->model->token_to_id(name);
    if (!id) continue;
    AddedToken token;
    token.content = name;
    token.id = *id;
    token.special = true;
    token.normalized = false;
    parts->added.push_back(std::move(token));
  }
  parts->build_matchers();
  return Tokenizer(std::move(parts));
}

Result<Encoding> Tokenizer::encode(std::string_view text, const std::string_view* pair, bool add_special_tokens,
                                   const std::optional<TruncationParams>& truncation) const {
  AIRLOCK_ASSIGN_OR_RETURN(Encoding first, parts_->encode_sequence(text, 0));
  std::optional<Encoding> second;
  if (pair != nullptr) {
    AIRLOCK_ASSIGN_OR_RETURN(Encoding b, parts_->encode_sequence(*pair, 1));
    second = std::move(b);
  }
  const std::optional<TruncationParams>& trunc = truncation ? truncation : parts_->truncation;
  if (trunc) {
    std::size_t added = add_special_tokens ? special_tokens_added(second.has_value()) : 0;
    if (trunc->max_length < added) {
      return invalid_argument(fmt::format("truncation max_length {} leaves no room for the {} special tokens",
                                          trunc->max_length, added));
    }
    if (trunc->strategy == TruncationStrategy::kOnlySecond && !second) {
      return invalid_argument("truncation only_second needs a pair of texts");
    }
    std::size_t max_length = trunc->max_length - added;
    std::size_t total = first.size() + (second ? second->size() : 0);
    if (trunc->strategy != TruncationStrategy::kLongestFirst && total > max_length && max_length > 0) {
      Encoding& target = trunc->strategy == TruncationStrategy::kOnlyFirst ? first : *second;
      if (target.size() <= total - max_length) {
        return invalid_argument(fmt::format("cannot truncate to {} tokens by shortening only the {} text",
                                            trunc->max_length,
                                            trunc->strategy == TruncationStrategy::kOnlyFirst ? "first" : "second"));
      }
    }
    truncate_pair(first, second, *trunc, max_length);
  }
  Encoding out = parts_->post_processor
                     ? parts_->post_processor->process(std::move(first), std::move(second), add_special_tokens)
                     : merge_encodings(std::move(first), std::move(second));
  if (parts_->padding) pad(out, *parts_->padding);
  return out;
}

const std::optional<TruncationParams>& Tokenizer::truncation() const { return parts_->truncation; }
const std::optional<PaddingParams>& Tokenizer::padding() const { return parts_->padding; }
void Tokenizer::set_truncation(std::optional<TruncationParams> params) { parts_->truncation = params; }
void Tokenizer::set_padding(std::optional<PaddingParams> params) { parts_->padding = std::move(params); }

std::optional<std::int32_t> Tokenizer::token_to_id(std::string_view token) const {
  for (const AddedToken& t : parts_->added) {
    if (t.content == token) return t.id;
  }
  return parts_->model->token_to_id(token);
}

std::optional<std::string> Tokenizer::id_to_token(std::int32_t id) const {
  for (const AddedToken& t : parts_->added) {
    if (t.id == id) return t.content;
  }
  return parts_->model->id_to_token(id);
}

std::size_t Tokenizer::vocab_size() const { return parts_->model->vocab_size(); }
const std::vector<AddedToken>& Tokenizer::added_tokens() const { return parts_->added; }

std::size_t Tokenizer::special_tokens_added(bool pair) const {
  return parts_->post_processor ? parts_->post_processor->added_tokens(pair) : 0;
}

}  // namespace airlock::engine
