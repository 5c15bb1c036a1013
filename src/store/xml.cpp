#include "store/xml.h"

#include <fmt/format.h>

#include <cstdint>

namespace airlock::store {
namespace {

constexpr int kMaxDepth = 64;
constexpr std::size_t kMaxDocument = 64 * 1024 * 1024;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool is_name_char(char c) {
  return !is_space(c) && c != '>' && c != '/' && c != '=' && c != '<' && c != '"' && c != '\'' && c != '\0';
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Parser {
 public:
  explicit Parser(std::string_view doc) : doc_(doc) {}

  Result<XmlElement> parse() {
    if (doc_.size() > kMaxDocument) return fail("the document is larger than 64 MiB");
    AIRLOCK_TRY(skip_misc());
    if (pos_ >= doc_.size() || doc_[pos_] != '<') return fail("expected the root element");
    XmlElement root;
    AIRLOCK_TRY(parse_element(root, 0));
    AIRLOCK_TRY(skip_misc());
    if (pos_ != doc_.size()) return fail("unexpected content after the root element");
    return root;
  }

 private:
  Error fail(std::string_view why) const { return parse_error(fmt::format("XML at byte {}: {}", pos_, why)); }

  bool starts_with(std::string_view prefix) const { return doc_.substr(pos_).starts_with(prefix); }

  void skip_space() {
    while (pos_ < doc_.size() && is_space(doc_[pos_])) ++pos_;
  }

  // Whitespace, comments and processing instructions around the root element.
  Status skip_misc() {
    while (true) {
      skip_space();
      if (starts_with("<?")) {
        auto end = doc_.find("?>", pos_);
        if (end == std::string_view::npos) return fail("unterminated processing instruction");
        pos_ = end + 2;
      } else if (starts_with("<!--")) {
        auto end = doc_.find("-->", pos_ + 4);
        if (end == std::string_view::npos) return fail("unterminated comment");
        pos_ = end + 3;
      } else if (starts_with("<!")) {
        return fail("DOCTYPE and other declarations are not accepted");
      } else {
        return ok_status();
      }
    }
  }

  Result<std::string> parse_name() {
    std::size_t start = pos_;
    while (pos_ < doc_.size() && is_name_char(doc_[pos_])) ++pos_;
    if (pos_ == start) return fail("expected a name");
    return std::string(doc_.substr(start, pos_ - start));
  }

  static std::string local_name(const std::string& name) {
    auto colon = name.find(':');
    return colon == std::string::npos ? name : name.substr(colon + 1);
  }

  Status decode_text(std::string_view raw, std::string& out) {
    std::size_t i = 0;
    while (i < raw.size()) {
      char c = raw[i];
      if (c != '&') {
        out += c;
        ++i;
        continue;
      }
      auto semi = raw.find(';', i);
      if (semi == std::string_view::npos || semi - i > 12) return fail("bad entity reference");
      std::string_view entity = raw.substr(i + 1, semi - i - 1);
      if (entity == "lt") {
        out += '<';
      } else if (entity == "gt") {
        out += '>';
      } else if (entity == "amp") {
        out += '&';
      } else if (entity == "quot") {
        out += '"';
      } else if (entity == "apos") {
        out += '\'';
      } else if (entity.size() > 1 && entity[0] == '#') {
        std::uint32_t cp = 0;
        bool hex = entity[1] == 'x' || entity[1] == 'X';
        std::string_view digits = entity.substr(hex ? 2 : 1);
        if (digits.empty()) return fail("bad character reference");
        for (char d : digits) {
          std::uint32_t v = 0;
          if (d >= '0' && d <= '9') {
            v = static_cast<std::uint32_t>(d - '0');
          } else if (hex && d >= 'a' && d <= 'f') {
            v = static_cast<std::uint32_t>(d - 'a' + 10);
          } else if (hex && d >= 'A' && d <= 'F') {
            v = static_cast<std::uint32_t>(d - 'A' + 10);
          } else {
            return fail("bad character reference");
          }
          cp = cp * (hex ? 16 : 10) + v;
          if (cp > 0x10FFFF) return fail("character reference out of range");
        }
        if (cp == 0) return fail("character reference to NUL");
        append_utf8(out, cp);
      } else {
        return fail("unknown entity '&" + std::string(entity) + ";'");
      }
      i = semi + 1;
    }
    return ok_status();
  }

  Status skip_attributes(bool& self_closing) {
    while (true) {
      skip_space();
      if (pos_ >= doc_.size()) return fail("unterminated start tag");
      if (doc_[pos_] == '>') {
        ++pos_;
        self_closing = false;
        return ok_status();
      }
      if (starts_with("/>")) {
        pos_ += 2;
        self_closing = true;
        return ok_status();
      }
      AIRLOCK_ASSIGN_OR_RETURN(std::string attribute, parse_name());
      (void)attribute;
      skip_space();
      if (pos_ >= doc_.size() || doc_[pos_] != '=') return fail("expected '=' after an attribute name");
      ++pos_;
      skip_space();
      if (pos_ >= doc_.size() || (doc_[pos_] != '"' && doc_[pos_] != '\''))
        return fail("expected a quoted attribute value");
      char quote = doc_[pos_++];
      auto end = doc_.find(quote, pos_);
      if (end == std::string_view::npos) return fail("unterminated attribute value");
      pos_ = end + 1;
    }
  }

  Status parse_element(XmlElement& element, int depth) {
    if (depth > kMaxDepth) return fail("elements nested deeper than 64 levels");
    ++pos_;  // '<'
    AIRLOCK_ASSIGN_OR_RETURN(std::string name, parse_name());
    element.name = local_name(name);
    bool self_closing = false;
    AIRLOCK_TRY(skip_attributes(self_closing));
    if (self_closing) return ok_status();
    while (true) {
      if (pos_ >= doc_.size()) return fail("unterminated element <" + name + ">");
      if (doc_[pos_] != '<') {
        auto next = doc_.find('<', pos_);
        if (next == std::string_view::npos) return fail("unterminated element <" + name + ">");
        AIRLOCK_TRY(decode_text(doc_.substr(pos_, next - pos_), element.text));
        pos_ = next;
        continue;
      }
      if (starts_with("</")) {
        pos_ += 2;
        AIRLOCK_ASSIGN_OR_RETURN(std::string end_name, parse_name());
        if (end_name != name) return fail("</" + end_name + "> closes <" + name + ">");
        skip_space();
        if (pos_ >= doc_.size() || doc_[pos_] != '>') return fail("expected '>'");
        ++pos_;
        return ok_status();
      }
      if (starts_with("<!--")) {
        auto end = doc_.find("-->", pos_ + 4);
        if (end == std::string_view::npos) return fail("unterminated comment");
        pos_ = end + 3;
        continue;
      }
      if (starts_with("<![CDATA[")) {
        auto end = doc_.find("]]>", pos_ + 9);
        if (end == std::string_view::npos) return fail("unterminated CDATA section");
        element.text.append(doc_.substr(pos_ + 9, end - pos_ - 9));
        pos_ = end + 3;
        continue;
      }
      if (starts_with("<?")) {
        auto end = doc_.find("?>", pos_);
        if (end == std::string_view::npos) return fail("unterminated processing instruction");
        pos_ = end + 2;
        continue;
      }
      if (starts_with("<!")) return fail("declarations are not accepted inside elements");
      element.children.emplace_back();
      AIRLOCK_TRY(parse_element(element.children.back(), depth + 1));
    }
  }

  std::string_view doc_;
  std::size_t pos_ = 0;
};

}  // namespace

const XmlElement* XmlElement::child(std::string_view child_name) const {
  for (const auto& c : children) {
    if (c.name == child_name) return &c;
  }
  return nullptr;
}

std::vector<const XmlElement*> XmlElement::children_named(std::string_view child_name) const {
  std::vector<const XmlElement*> out;
  for (const auto& c : children) {
    if (c.name == child_name) out.push_back(&c);
  }
  return out;
}

std::string XmlElement::child_text(std::string_view child_name) const {
  const XmlElement* c = child(child_name);
  return c != nullptr ? c->text : std::string();
}

Result<XmlElement> parse_xml(std::string_view document) {
  return Parser(document).parse();
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace airlock::store
