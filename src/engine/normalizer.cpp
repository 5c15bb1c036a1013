#include "engine/normalizer.h"

#include <fmt/format.h>

#include <regex>
#include <vector>

#include "engine/precompiled_charsmap.h"
#include "engine/text_regex.h"
#include "engine/unicode.h"

namespace airlock::engine {
namespace {

using unicode::Category;

bool is_bert_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  Category cat = unicode::category_v8(c);
  return cat == Category::kCc || cat == Category::kCf || cat == Category::kCo || cat == Category::kCs;
}

class BertNormalizer final : public Normalizer {
 public:
  BertNormalizer(bool clean_text, bool handle_chinese_chars, bool strip_accents, bool lowercase)
      : clean_text_(clean_text), handle_chinese_chars_(handle_chinese_chars), strip_accents_(strip_accents),
        lowercase_(lowercase) {}

  void normalize(std::u32string& text) const override {
    if (clean_text_) {
      std::u32string out;
      out.reserve(text.size());
      for (char32_t c : text) {
        if (c == 0 || c == unicode::kReplacementCharacter || is_bert_control(c)) continue;
        out.push_back(unicode::is_whitespace(c) ? U' ' : c);
      }
      text.swap(out);
    }
    if (handle_chinese_chars_) {
      std::u32string out;
      out.reserve(text.size());
      for (char32_t c : text) {
        if (is_chinese_char(c)) {
          out.push_back(U' ');
          out.push_back(c);
          out.push_back(U' ');
        } else {
          out.push_back(c);
        }
      }
      text.swap(out);
    }
    if (strip_accents_) {
      std::u32string decomposed = unicode::normalize(text, unicode::Form::kNfd);
      text.clear();
      for (char32_t c : decomposed) {
        if (unicode::category_v8(c) != Category::kMn) text.push_back(c);
      }
    }
    if (lowercase_) {
      std::u32string out;
      out.reserve(text.size());
      for (char32_t c : text) unicode::append_lowercase(c, out);
      text.swap(out);
    }
  }

 private:
  bool clean_text_, handle_chinese_chars_, strip_accents_, lowercase_;
};

class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(unicode::Form form) : form_(form) {}
  void normalize(std::u32string& text) const override { text = unicode::normalize(text, form_); }

 private:
  unicode::Form form_;
};

class LowercaseNormalizer final : public Normalizer {
 public:
  void normalize(std::u32string& text) const override {
    std::u32string out;
    out.reserve(text.size());
    for (char32_t c : text) unicode::append_lowercase(c, out);
    text.swap(out);
  }
};

class StripAccentsNormalizer final : public Normalizer {
 public:
  void normalize(std::u32string& text) const override {
    std::u32string out;
    out.reserve(text.size());
    for (char32_t c : text) {
      if (!unicode::is_combining_mark_v9(c)) out.push_back(c);
    }
    text.swap(out);
  }
};

class StripNormalizer final : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::u32string& text) const override {
    std::size_t begin = 0, end = text.size();
    if (left_) {
      while (begin < end && unicode::is_whitespace(text[begin])) ++begin;
    }
    if (right_) {
      while (end > begin && unicode::is_whitespace(text[end - 1])) --end;
    }
    text = text.substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::u32string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::u32string& text) const override {
    if (!text.empty()) text.insert(0, prefix_);
  }

 private:
  std::u32string prefix_;
};

class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(TextPattern pattern, std::u32string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void normalize(std::u32string& text) const override {
    std::vector<std::pair<std::size_t, std::size_t>> matches;
    pattern_.find_all(text, matches);
    if (matches.empty()) return;
    std::u32string out;
    std::size_t last = 0;
    for (auto [begin, end] : matches) {
      out.append(text, last, begin - last);
      out += content_;
      last = end;
    }
    out.append(text, last);
    text.swap(out);
  }

 private:
  TextPattern pattern_;
  std::u32string content_;
};

class PrecompiledNormalizer final : public Normalizer {
 public:
  explicit PrecompiledNormalizer(PrecompiledCharsmap map) : map_(std::move(map)) {}
  void normalize(std::u32string& text) const override { text = map_.apply(text); }

 private:
  PrecompiledCharsmap map_;
};

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts) : parts_(std::move(parts)) {}
  void normalize(std::u32string& text) const override {
    for (const auto& part : parts_) part->normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

// Standard base64, as tokenizer.json stores the charsmap.
Result<std::string> decode_base64(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=' || c == '\n' || c == '\r') continue;
    int v = value(c);
    if (v < 0) return parse_error("precompiled_charsmap is not valid base64");
    buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

bool bool_field(const JsonValue& json, const char* key, bool fallback) {
  auto it = json.find(key);
  if (it == json.end() || it->is_null()) return fallback;
  return it->get<bool>();
}

}  // namespace

bool is_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

std::unique_ptr<Normalizer> make_bert_normalizer(bool clean_text, bool handle_chinese_chars, bool strip_accents,
                                                 bool lowercase) {
  return std::make_unique<BertNormalizer>(clean_text, handle_chinese_chars, strip_accents, lowercase);
}

Result<std::unique_ptr<Normalizer>> make_normalizer(const JsonValue& json) {
  if (json.is_null()) return std::unique_ptr<Normalizer>();
  if (!json.is_object()) return parse_error("normalizer: expected an object");
  std::string type = json.value("type", "");
  if (type == "BertNormalizer") {
    bool lowercase = bool_field(json, "lowercase", true);
    // strip_accents null means "same as lowercase".
    bool strip_accents = bool_field(json, "strip_accents", lowercase);
    return make_bert_normalizer(bool_field(json, "clean_text", true), bool_field(json, "handle_chinese_chars", true),
                                strip_accents, lowercase);
  }
  if (type == "NFD") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(unicode::Form::kNfd));
  if (type == "NFKD") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(unicode::Form::kNfkd));
  if (type == "NFC") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(unicode::Form::kNfc));
  if (type == "NFKC") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(unicode::Form::kNfkc));
  if (type == "Lowercase") return std::unique_ptr<Normalizer>(new LowercaseNormalizer());
  if (type == "StripAccents") return std::unique_ptr<Normalizer>(new StripAccentsNormalizer());
  if (type == "Strip") {
    return std::unique_ptr<Normalizer>(
        new StripNormalizer(bool_field(json, "strip_left", true), bool_field(json, "strip_right", true)));
  }
  if (type == "Prepend") {
    return std::unique_ptr<Normalizer>(new PrependNormalizer(unicode::decode_utf8(json.at("prepend").get<std::string>())));
  }
  if (type == "Replace") {
    AIRLOCK_ASSIGN_OR_RETURN(TextPattern pattern, TextPattern::from_json(json.at("pattern")));
    return std::unique_ptr<Normalizer>(
        new ReplaceNormalizer(std::move(pattern), unicode::decode_utf8(json.at("content").get<std::string>())));
  }
  if (type == "Precompiled") {
    const JsonValue& charsmap = json.at("precompiled_charsmap");
    if (charsmap.is_null()) return std::unique_ptr<Normalizer>(new SequenceNormalizer({}));
    AIRLOCK_ASSIGN_OR_RETURN(std::string blob, decode_base64(charsmap.get<std::string>()));
    AIRLOCK_ASSIGN_OR_RETURN(PrecompiledCharsmap map, PrecompiledCharsmap::parse(blob));
    return std::unique_ptr<Normalizer>(new PrecompiledNormalizer(std::move(map)));
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (const JsonValue& part : json.at("normalizers")) {
      AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<Normalizer> normalizer, make_normalizer(part));
      if (normalizer) parts.push_back(std::move(normalizer));
    }
    return std::unique_ptr<Normalizer>(new SequenceNormalizer(std::move(parts)));
  }
  return Error(ErrorCode::kUnsupported, fmt::format("normalizer type \"{}\" is not supported", type));
}

}  // namespace airlock::engine
