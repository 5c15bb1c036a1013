#include "net/http_url.h"

#include <curl/curl.h>

#include <memory>

#include "core/redact.h"

namespace airlock::net {
namespace {

struct CurlUrlDeleter {
  void operator()(CURLU* handle) const { curl_url_cleanup(handle); }
};
using CurlUrl = std::unique_ptr<CURLU, CurlUrlDeleter>;

struct CurlStringDeleter {
  void operator()(char* text) const { curl_free(text); }
};
using CurlString = std::unique_ptr<char, CurlStringDeleter>;

std::string ascii_lower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

// curl's URL parser wants NUL-terminated input.
CurlUrl parse(std::string_view url) {
  CurlUrl handle(curl_url());
  if (!handle) return nullptr;
  std::string text(url);
  if (curl_url_set(handle.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) return nullptr;
  return handle;
}

std::string get_part(CURLU* handle, CURLUPart part, unsigned int flags = 0) {
  char* raw = nullptr;
  if (curl_url_get(handle, part, &raw, flags) != CURLUE_OK || raw == nullptr) return "";
  CurlString owned(raw);
  return std::string(owned.get());
}

bool has_scheme(std::string_view text) {
  auto colon = text.find("://");
  if (colon == std::string_view::npos || colon == 0) return false;
  for (std::size_t i = 0; i < colon; ++i) {
    char c = text[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Result<std::string> resolve_url(std::string_view base, std::string_view reference) {
  if (has_scheme(reference)) return std::string(reference);
  CurlUrl handle = parse(base);
  if (!handle) return invalid_argument("cannot resolve a redirect against " + display_url(base));
  std::string ref(reference);
  // With a URL already set, curl resolves a relative reference against it (RFC 3986, section 5).
  if (curl_url_set(handle.get(), CURLUPART_URL, ref.c_str(), 0) != CURLUE_OK) {
    return invalid_argument("malformed redirect location on " + display_url(base));
  }
  std::string resolved = get_part(handle.get(), CURLUPART_URL);
  if (resolved.empty()) return invalid_argument("malformed redirect location on " + display_url(base));
  return resolved;
}

std::string url_origin(std::string_view url) {
  CurlUrl handle = parse(url);
  if (!handle) return "";
  std::string scheme = ascii_lower(get_part(handle.get(), CURLUPART_SCHEME));
  std::string host = ascii_lower(get_part(handle.get(), CURLUPART_HOST));
  std::string port = get_part(handle.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (scheme.empty() || host.empty()) return "";
  return scheme + "://" + host + ":" + port;
}

std::string url_scheme(std::string_view url) {
  if (!has_scheme(url)) return "";
  return ascii_lower(std::string(url.substr(0, url.find("://"))));
}

std::string display_url(std::string_view url) {
  if (CurlUrl handle = parse(url)) {
    std::string scheme = ascii_lower(get_part(handle.get(), CURLUPART_SCHEME));
    std::string host = get_part(handle.get(), CURLUPART_HOST);
    std::string port = get_part(handle.get(), CURLUPART_PORT);
    std::string path = get_part(handle.get(), CURLUPART_PATH);
    std::string shown = scheme + "://" + host;
    if (!port.empty()) shown += ":" + port;
    shown += path.empty() ? "/" : path;
    return redact(shown);
  }
  // Not a URL curl understands: still cut anything that could carry a credential.
  std::string_view text = url;
  text = text.substr(0, text.find_first_of("?#"));
  std::string shown(text);
  if (auto scheme_end = shown.find("://"); scheme_end != std::string::npos) {
    auto authority_end = shown.find('/', scheme_end + 3);
    auto at = shown.rfind('@', authority_end);
    if (at != std::string::npos && at > scheme_end) shown.erase(scheme_end + 3, at + 1 - (scheme_end + 3));
  }
  return redact(shown);
}

}  // namespace airlock::net
