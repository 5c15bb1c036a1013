#include "engine/post_processor.h"

#include <fmt/format.h>

#include <map>

namespace airlock::engine {
namespace {

void set_type_ids(Encoding& e, std::int32_t type_id) {
  for (auto& t : e.type_ids) t = type_id;
}

class TemplateProcessor final : public PostProcessor {
 public:
  struct Piece {
    bool is_sequence;
    int sequence;             // 0 = A, 1 = B
    std::string special;      // special token name
    std::int32_t type_id;
  };
  struct Special {
    std::vector<std::int32_t> ids;
    std::vector<std::string> tokens;
  };

  TemplateProcessor(std::vector<Piece> single, std::vector<Piece> pair, std::map<std::string, Special> specials)
      : single_(std::move(single)), pair_(std::move(pair)), specials_(std::move(specials)) {}

  std::size_t added_tokens(bool pair) const override {
    std::size_t count = 0;
    for (const Piece& p : pair ? pair_ : single_) {
      if (!p.is_sequence) count += specials_.at(p.special).ids.size();
    }
    return count;
  }

  Encoding process(Encoding first, std::optional<Encoding> second, bool add_special_tokens) const override {
    const auto& pieces = second ? pair_ : single_;
    Encoding out;
    for (const Piece& p : pieces) {
      if (p.is_sequence) {
        Encoding& e = p.sequence == 0 ? first : *second;
        set_type_ids(e, p.type_id);
        out.append(e);
      } else if (add_special_tokens) {
        const Special& s = specials_.at(p.special);
        for (std::size_t i = 0; i < s.ids.size(); ++i) out.push(s.ids[i], p.type_id, s.tokens[i], true);
      }
    }
    return out;
  }

  static Result<std::vector<Piece>> parse_template(const JsonValue& json, const std::map<std::string, Special>& specials,
                                                   bool pair) {
    std::vector<Piece> pieces;
    if (!json.is_array()) return parse_error("TemplateProcessing: a template must be a list");
    for (const JsonValue& item : json) {
      if (item.contains("Sequence")) {
        const JsonValue& s = item.at("Sequence");
        std::string id = s.at("id").get<std::string>();
        if (id != "A" && id != "B") return parse_error(fmt::format("TemplateProcessing: unknown sequence \"{}\"", id));
        if (id == "B" && !pair) return parse_error("TemplateProcessing: the single template uses $B");
        pieces.push_back({true, id == "A" ? 0 : 1, "", s.value("type_id", 0)});
      } else if (item.contains("SpecialToken")) {
        const JsonValue& s = item.at("SpecialToken");
        std::string id = s.at("id").get<std::string>();
        if (!specials.count(id)) {
          return parse_error(fmt::format("TemplateProcessing: special token \"{}\" is not in special_tokens", id));
        }
        pieces.push_back({false, 0, id, s.value("type_id", 0)});
      } else {
        return parse_error("TemplateProcessing: a template item must be Sequence or SpecialToken");
      }
    }
    return pieces;
  }

 private:
  std::vector<Piece> single_, pair_;
  std::map<std::string, Special> specials_;
};

// BertProcessing and RobertaProcessing: fixed templates around the sequences' own type ids.
class ClsSepProcessor final : public PostProcessor {
 public:
  ClsSepProcessor(std::string cls, std::int32_t cls_id, std::string sep, std::int32_t sep_id, bool roberta)
      : cls_(std::move(cls)), sep_(std::move(sep)), cls_id_(cls_id), sep_id_(sep_id), roberta_(roberta) {}

  std::size_t added_tokens(bool pair) const override {
    if (!pair) return 2;
    return roberta_ ? 4 : 3;
  }

  Encoding process(Encoding first, std::optional<Encoding> second, bool add_special_tokens) const override {
    if (roberta_) {
      // RoBERTa has a single token type: every id is 0, the pair's included.
      set_type_ids(first, 0);
      if (second) set_type_ids(*second, 0);
    }
    if (!add_special_tokens) return merge_encodings(std::move(first), std::move(second));
    Encoding out;
    out.push(cls_id_, 0, cls_, true);
    out.append(first);
    out.push(sep_id_, 0, sep_, true);
    if (second) {
      if (roberta_) out.push(sep_id_, 0, sep_, true);
      out.append(*second);
      out.push(sep_id_, roberta_ ? 0 : 1, sep_, true);
    }
    return out;
  }

 private:
  std::string cls_, sep_;
  std::int32_t cls_id_, sep_id_;
  bool roberta_;
};

class IdentityProcessor final : public PostProcessor {
 public:
  std::size_t added_tokens(bool) const override { return 0; }
  Encoding process(Encoding first, std::optional<Encoding> second, bool) const override {
    return merge_encodings(std::move(first), std::move(second));
  }
};

class SequenceProcessor final : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> parts) : parts_(std::move(parts)) {}
  std::size_t added_tokens(bool pair) const override {
    std::size_t count = 0;
    for (const auto& p : parts_) count += p->added_tokens(pair);
    return count;
  }
  Encoding process(Encoding first, std::optional<Encoding> second, bool add_special_tokens) const override {
    // Only ByteLevel (offsets) and one template-like processor occur in practice: run the
    // template-like one.
    for (const auto& p : parts_) {
      if (p->added_tokens(second.has_value()) > 0) return p->process(std::move(first), std::move(second), add_special_tokens);
    }
    return merge_encodings(std::move(first), std::move(second));
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

Result<std::pair<std::string, std::int32_t>> token_pair(const JsonValue& json, const char* key) {
  const JsonValue& v = json.at(key);
  if (!v.is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_number_integer()) {
    return parse_error(fmt::format("post_processor: \"{}\" must be [token, id]", key));
  }
  return std::pair<std::string, std::int32_t>(v[0].get<std::string>(), v[1].get<std::int32_t>());
}

}  // namespace

Encoding merge_encodings(Encoding first, std::optional<Encoding> second) {
  if (second) first.append(*second);
  return first;
}

std::unique_ptr<PostProcessor> make_bert_post_processor(std::string cls, std::int32_t cls_id, std::string sep,
                                                        std::int32_t sep_id) {
  return std::make_unique<ClsSepProcessor>(std::move(cls), cls_id, std::move(sep), sep_id, false);
}

Result<std::unique_ptr<PostProcessor>> make_post_processor(const JsonValue& json) {
  if (json.is_null()) return std::unique_ptr<PostProcessor>();
  if (!json.is_object()) return parse_error("post_processor: expected an object");
  std::string type = json.value("type", "");
  if (type == "TemplateProcessing") {
    std::map<std::string, TemplateProcessor::Special> specials;
    const JsonValue& table = json.at("special_tokens");
    for (auto it = table.begin(); it != table.end(); ++it) {
      TemplateProcessor::Special s;
      s.ids = it.value().at("ids").get<std::vector<std::int32_t>>();
      s.tokens = it.value().at("tokens").get<std::vector<std::string>>();
      if (s.ids.size() != s.tokens.size()) {
        return parse_error(fmt::format("TemplateProcessing: special token \"{}\" has {} ids but {} tokens", it.key(),
                                       s.ids.size(), s.tokens.size()));
      }
      specials.emplace(it.key(), std::move(s));
    }
    AIRLOCK_ASSIGN_OR_RETURN(auto single, TemplateProcessor::parse_template(json.at("single"), specials, false));
    AIRLOCK_ASSIGN_OR_RETURN(auto pair, TemplateProcessor::parse_template(json.at("pair"), specials, true));
    return std::unique_ptr<PostProcessor>(new TemplateProcessor(std::move(single), std::move(pair), std::move(specials)));
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    AIRLOCK_ASSIGN_OR_RETURN(auto cls, token_pair(json, "cls"));
    AIRLOCK_ASSIGN_OR_RETURN(auto sep, token_pair(json, "sep"));
    return std::unique_ptr<PostProcessor>(
        new ClsSepProcessor(cls.first, cls.second, sep.first, sep.second, type == "RobertaProcessing"));
  }
  if (type == "ByteLevel") return std::unique_ptr<PostProcessor>(new IdentityProcessor());
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PostProcessor>> parts;
    for (const JsonValue& part : json.at("processors")) {
      AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<PostProcessor> p, make_post_processor(part));
      if (p) parts.push_back(std::move(p));
    }
    return std::unique_ptr<PostProcessor>(new SequenceProcessor(std::move(parts)));
  }
  return Error(ErrorCode::kUnsupported, fmt::format("post_processor type \"{}\" is not supported", type));
}

}  // namespace airlock::engine
