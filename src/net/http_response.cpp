#include "net/http_response.h"

#include <fmt/format.h>

#include "core/redact.h"
#include "net/http_url.h"

namespace airlock::net {
namespace {

constexpr std::size_t kExcerptChars = 300;

// One line of printable text from a server's error document (JSON, XML or HTML): whitespace runs
// collapse to one space and control bytes vanish, so the message stays one readable line.
std::string excerpt(std::string_view body) {
  std::string line;
  bool pending_space = false;
  for (char c : body) {
    auto byte = static_cast<unsigned char>(c);
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      pending_space = !line.empty();
      continue;
    }
    if (byte < 0x20 || byte == 0x7f) continue;
    if (pending_space) line += ' ';
    pending_space = false;
    line += c;
    if (line.size() >= kExcerptChars * 2) break;  // redaction may shorten; cut after it
  }
  line = redact(line);
  if (line.size() > kExcerptChars) {
    std::size_t cut = kExcerptChars;
    // Do not split a UTF-8 sequence.
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
    line.resize(cut);
    line += "...";
  }
  return line;
}

}  // namespace

ErrorCode error_code_for_status(int status) {
  switch (status) {
    case 400:
      return ErrorCode::kInvalidArgument;
    case 401:
      return ErrorCode::kUnauthenticated;
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
    case 410:
      return ErrorCode::kNotFound;
    case 408:
      return ErrorCode::kTimeout;
    case 409:
    case 412:
      return ErrorCode::kAlreadyExists;
    case 413:
      return ErrorCode::kResourceExhausted;
    case 429:
      return ErrorCode::kUnavailable;
    case 501:
      return ErrorCode::kUnsupported;
    case 507:
      return ErrorCode::kResourceExhausted;
    default:
      break;
  }
  if (status >= 500 && status < 600) return ErrorCode::kUnavailable;
  if (status >= 400 && status < 500) return ErrorCode::kInvalidArgument;
  // 1xx/3xx reaching here means a redirect was not followed or the server misbehaved.
  return ErrorCode::kNetwork;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 416:
      return "Range Not Satisfiable";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 507:
      return "Insufficient Storage";
    default:
      return "";
  }
}

Error http_error(const HttpResponse& response) {
  std::string message = fmt::format("{} {}: HTTP {}", response.method.empty() ? "GET" : response.method,
                                    display_url(response.url), response.status);
  std::string reason = redact(response.reason.empty() ? std::string(reason_phrase(response.status)) : response.reason);
  if (!reason.empty()) message += " " + reason;
  if (response.attempts > 1) message += fmt::format(" (after {} attempts)", response.attempts);
  if (std::string text = excerpt(response.body); !text.empty()) message += ": " + text;
  return Error(error_code_for_status(response.status), std::move(message));
}

Result<HttpResponse> require_success(Result<HttpResponse> response) {
  if (!response.ok()) return response;
  if (!response->ok()) return http_error(*response);
  return response;
}

}  // namespace airlock::net
