#include "core/uri.h"

#include <fmt/format.h>

#include <cctype>

#include "core/strings.h"

namespace airlock {
namespace {

bool is_unreserved(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~';
}

bool valid_scheme(std::string_view scheme) {
  if (scheme.empty() || !std::isalpha(static_cast<unsigned char>(scheme[0]))) return false;
  for (char c : scheme) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

Status parse_authority(std::string_view authority, Uri& uri, std::string_view original) {
  auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    AIRLOCK_ASSIGN_OR_RETURN(uri.userinfo, percent_decode(authority.substr(0, at)));
    authority = authority.substr(at + 1);
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return invalid_argument(fmt::format("URI '{}': unterminated IPv6 address", original));
    }
    host = authority.substr(0, close + 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return invalid_argument(fmt::format("URI '{}': unexpected text after IPv6 address", original));
      port = rest.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
  }
  if (!port.empty()) {
    int value = 0;
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || value > 65535) {
        return invalid_argument(fmt::format("URI '{}': port '{}' is not a number from 1 to 65535", original, port));
      }
      value = value * 10 + (c - '0');
    }
    if (value < 1 || value > 65535) {
      return invalid_argument(fmt::format("URI '{}': port '{}' is not a number from 1 to 65535", original, port));
    }
    uri.port = value;
  }
  AIRLOCK_ASSIGN_OR_RETURN(uri.host, percent_decode(host));
  return ok_status();
}

Status parse_query(std::string_view query, Uri& uri) {
  std::size_t start = 0;
  while (start <= query.size()) {
    std::size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view item = query.substr(start, amp - start);
    if (!item.empty()) {
      auto eq = item.find('=');
      std::string_view key = item.substr(0, eq);
      std::string_view value = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
      AIRLOCK_ASSIGN_OR_RETURN(std::string decoded_key, percent_decode(key));
      AIRLOCK_ASSIGN_OR_RETURN(std::string decoded_value, percent_decode(value));
      uri.query.emplace_back(std::move(decoded_key), std::move(decoded_value));
    }
    start = amp + 1;
  }
  return ok_status();
}

}  // namespace

std::optional<std::string> Uri::query_param(std::string_view key) const {
  for (const auto& [k, v] : query) {
    if (k == key) return v;
  }
  return std::nullopt;
}

std::string Uri::origin() const {
  std::string out = scheme + "://" + to_lower(host);
  if (port) out += ":" + std::to_string(*port);
  return out;
}

std::string Uri::to_string(bool with_userinfo) const {
  if (scheme == "file" && host.empty()) return path;
  std::string out = scheme + "://";
  if (with_userinfo && !userinfo.empty()) out += percent_encode(userinfo, ":") + "@";
  out += host;
  if (port) out += ":" + std::to_string(*port);
  out += percent_encode(path, "/:@!$&'()*+,;=");
  if (!query.empty()) {
    out += '?';
    for (std::size_t i = 0; i < query.size(); ++i) {
      if (i > 0) out += '&';
      out += percent_encode(query[i].first, "/:@");
      out += '=';
      out += percent_encode(query[i].second, "/:@");
    }
  }
  if (!fragment.empty()) out += "#" + percent_encode(fragment, "/:@");
  return out;
}

Result<Uri> parse_uri(std::string_view text) {
  if (text.empty()) return invalid_argument("empty URI or path");
  for (char c : text) {
    if (c == '\0' || c == '\n' || c == '\r') return invalid_argument("URI or path contains a control character");
  }
  Uri uri;
  auto sep = text.find("://");
  auto first_slash = text.find('/');
  bool has_scheme = sep != std::string_view::npos && (first_slash == std::string_view::npos || first_slash > sep) &&
                    valid_scheme(text.substr(0, sep));
  if (!has_scheme) {
    // "file:/abs/path" (one slash) is a file URI too; anything else is a plain local path.
    if (text.rfind("file:", 0) == 0) {
      AIRLOCK_ASSIGN_OR_RETURN(uri.path, percent_decode(text.substr(5)));
    } else {
      uri.path = std::string(text);
    }
    uri.scheme = "file";
    return uri;
  }
  uri.scheme = to_lower(text.substr(0, sep));
  std::string_view rest = text.substr(sep + 3);
  auto fragment_at = rest.find('#');
  if (fragment_at != std::string_view::npos) {
    AIRLOCK_ASSIGN_OR_RETURN(uri.fragment, percent_decode(rest.substr(fragment_at + 1)));
    rest = rest.substr(0, fragment_at);
  }
  auto query_at = rest.find('?');
  if (query_at != std::string_view::npos) {
    AIRLOCK_TRY(parse_query(rest.substr(query_at + 1), uri));
    rest = rest.substr(0, query_at);
  }
  auto path_at = rest.find('/');
  std::string_view authority = rest.substr(0, path_at);
  if (path_at != std::string_view::npos) {
    AIRLOCK_ASSIGN_OR_RETURN(uri.path, percent_decode(rest.substr(path_at)));
  }
  if (uri.scheme == "file") {
    if (!authority.empty() && authority != "localhost") {
      return invalid_argument(fmt::format("file URI '{}' names a host; use file:///absolute/path", text));
    }
    return uri;
  }
  AIRLOCK_TRY(parse_authority(authority, uri, text));
  if (uri.host.empty()) return invalid_argument(fmt::format("URI '{}' has no host or bucket", text));
  return uri;
}

std::string percent_encode(std::string_view text, std::string_view keep) {
  std::string out;
  out.reserve(text.size());
  constexpr char kDigits[] = "0123456789ABCDEF";
  for (char c : text) {
    if (is_unreserved(c) || keep.find(c) != std::string_view::npos) {
      out += c;
    } else {
      auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kDigits[byte >> 4];
      out += kDigits[byte & 0x0f];
    }
  }
  return out;
}

Result<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      return invalid_argument(fmt::format("bad percent-escape at offset {} in '{}'", i, text));
    }
    auto hex = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(static_cast<unsigned char>(c)) - 'a' + 10); };
    out += static_cast<char>(hex(text[i + 1]) << 4 | hex(text[i + 2]));
    i += 2;
  }
  return out;
}

}  // namespace airlock
