#include "store/sigv4.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "core/hash.h"
#include "core/hex.h"
#include "core/strings.h"
#include "core/uri.h"

namespace airlock::store {
namespace {

// Decodes %XX where it is well-formed and leaves anything else as it is: the signature must
// cover what is sent, and a stray '%' is sent as a literal that encode() turns into %25.
std::string lenient_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      auto nibble = [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10);
      };
      out += static_cast<char>(nibble(text[i + 1]) * 16 + nibble(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string hex_of(const std::string& raw) {
  return to_hex(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size()));
}

std::string trim_collapse(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

bool header_signed(std::string_view name) {
  std::string n = to_lower(name);
  return n == "host" || n.starts_with("x-amz-") || n == "content-type" || n == "content-md5" || n == "range";
}

}  // namespace

std::string sigv4_canonical_uri(std::string_view path, bool normalize) {
  if (path.empty()) return "/";
  std::vector<std::string> segments;
  for (std::string_view part : split(path, '/')) segments.push_back(lenient_decode(part));
  // split("/a/b") gives "", "a", "b": the leading empty segment is the root.
  if (normalize) {
    const bool trailing_slash = path.size() > 1 && path.back() == '/';
    std::vector<std::string> stack;
    for (std::size_t i = 1; i < segments.size(); ++i) {
      const std::string& s = segments[i];
      if (s.empty() || s == ".") continue;
      if (s == "..") {
        if (!stack.empty()) stack.pop_back();
        continue;
      }
      stack.push_back(s);
    }
    std::string out = "/";
    for (std::size_t i = 0; i < stack.size(); ++i) {
      out += percent_encode(stack[i]);
      if (i + 1 < stack.size()) out += '/';
    }
    if (trailing_slash && !stack.empty()) out += '/';
    // A path that ends in "/.." or "/." names a directory.
    if (!stack.empty() && !trailing_slash && (segments.back() == ".." || segments.back() == ".")) out += '/';
    return out;
  }
  std::string out;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out += '/';
    out += percent_encode(segments[i]);
  }
  if (out.empty() || out.front() != '/') out.insert(out.begin(), '/');
  return out;
}

std::string sigv4_canonical_query(std::string_view query) {
  if (query.empty()) return "";
  std::vector<std::pair<std::string, std::string>> params;
  for (std::string_view item : split(query, '&')) {
    if (item.empty()) continue;
    auto eq = item.find('=');
    std::string_view key = item.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    params.emplace_back(percent_encode(lenient_decode(key)), percent_encode(lenient_decode(value)));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (i > 0) out += '&';
    out += params[i].first;
    out += '=';
    out += params[i].second;
  }
  return out;
}

std::pair<std::string, std::string> sigv4_canonical_headers(
    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::vector<std::pair<std::string, std::string>> merged;
  for (const auto& [name, value] : headers) {
    std::string key = to_lower(name);
    std::string clean = trim_collapse(value);
    auto it = std::find_if(merged.begin(), merged.end(), [&](const auto& entry) { return entry.first == key; });
    if (it == merged.end()) {
      merged.emplace_back(std::move(key), std::move(clean));
    } else {
      it->second += ',';
      it->second += clean;
    }
  }
  std::stable_sort(merged.begin(), merged.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string lines;
  std::string names;
  for (const auto& [name, value] : merged) {
    lines += name;
    lines += ':';
    lines += value;
    lines += '\n';
    if (!names.empty()) names += ';';
    names += name;
  }
  return {lines, names};
}

SigV4Result sigv4_sign(const SigningInput& input, const AwsCredentials& credentials, const SigV4Scope& scope,
                       std::string_view date_time) {
  SigV4Result result;
  auto [header_lines, signed_headers] = sigv4_canonical_headers(input.headers);
  result.signed_headers = signed_headers;
  result.canonical_request =
      fmt::format("{}\n{}\n{}\n{}\n{}\n{}", input.method, sigv4_canonical_uri(input.path, scope.normalize_path),
                  sigv4_canonical_query(input.query), header_lines, signed_headers, input.payload_hash);
  const std::string date(date_time.substr(0, 8));
  const std::string credential_scope = fmt::format("{}/{}/{}/aws4_request", date, scope.region, scope.service);
  result.string_to_sign =
      fmt::format("AWS4-HMAC-SHA256\n{}\n{}\n{}", date_time, credential_scope, sha256_hex(result.canonical_request));
  std::string key = hmac_sha256("AWS4" + credentials.secret_access_key, date);
  key = hmac_sha256(key, scope.region);
  key = hmac_sha256(key, scope.service);
  key = hmac_sha256(key, "aws4_request");
  result.signature = hex_of(hmac_sha256(key, result.string_to_sign));
  result.authorization = fmt::format("AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={}",
                                     credentials.access_key_id, credential_scope, signed_headers, result.signature);
  return result;
}

std::string amz_date(std::chrono::system_clock::time_point time) {
  std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &tm);
  return buffer;
}

Status sigv4_sign_request(net::OutgoingRequest& request, const AwsCredentials& credentials, const SigV4Scope& scope,
                          std::chrono::system_clock::time_point now) {
  std::string_view url = request.url;
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return invalid_argument("cannot sign a URL without a scheme");
  const std::string scheme = to_lower(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);
  auto path_start = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path_and_query = path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
  std::string host(authority);
  // curl leaves the default port out of Host; the signature must cover exactly what is sent.
  if (auto colon = host.rfind(':'); colon != std::string::npos && host.find(']', colon) == std::string::npos) {
    std::string_view port = std::string_view(host).substr(colon + 1);
    if ((scheme == "http" && port == "80") || (scheme == "https" && port == "443")) host.resize(colon);
  }
  host = to_lower(host);
  if (auto hash = path_and_query.find('#'); hash != std::string_view::npos)
    path_and_query = path_and_query.substr(0, hash);
  std::string_view path = path_and_query;
  std::string_view query;
  if (auto q = path_and_query.find('?'); q != std::string_view::npos) {
    path = path_and_query.substr(0, q);
    query = path_and_query.substr(q + 1);
  }

  request.headers.remove("Authorization");
  request.headers.set("x-amz-date", amz_date(now));
  if (!credentials.session_token.empty()) {
    request.headers.set("x-amz-security-token", credentials.session_token);
  } else {
    request.headers.remove("x-amz-security-token");
  }
  if (!request.headers.contains("x-amz-content-sha256")) {
    request.headers.set("x-amz-content-sha256",
                        std::string(request.body_size == 0 ? kEmptyPayloadSha256 : kUnsignedPayload));
  }

  SigningInput input;
  input.method = request.method;
  input.path = std::string(path.empty() ? "/" : path);
  input.query = std::string(query);
  if (auto explicit_host = request.headers.get("Host")) {
    input.headers.emplace_back("host", *explicit_host);
  } else {
    input.headers.emplace_back("host", host);
  }
  for (const auto& [name, value] : request.headers) {
    if (to_lower(name) == "host") continue;
    if (header_signed(name)) input.headers.emplace_back(name, value);
  }
  input.payload_hash = request.headers.get("x-amz-content-sha256").value_or(std::string(kUnsignedPayload));
  SigV4Result signed_request = sigv4_sign(input, credentials, scope, amz_date(now));
  request.headers.set("Authorization", signed_request.authorization);
  return ok_status();
}

}  // namespace airlock::store
