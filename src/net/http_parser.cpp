#include "net/http_parser.h"

#include <fmt/format.h>

#include <cstring>
#include <vector>

#include "core/strings.h"
#include "core/uri.h"

namespace airlock::net {
namespace {

bool is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

// Field values may hold visible ASCII, space, tab and obs-text; any other control character is
// how response splitting and smuggling attempts look.
bool is_field_value_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  return (c | 0x20) - 'a' + 10;
}

HeadParse fail(int status, std::string message) {
  HeadParse result;
  result.state = HeadParse::State::kError;
  result.error = ParseError{status, std::move(message)};
  return result;
}

// Where the head ends (one past the blank line), or npos. Lines end in LF with an optional CR.
std::size_t find_head_end(std::string_view input, std::size_t from) {
  std::size_t pos = from;
  while (pos < input.size()) {
    const void* found = std::memchr(input.data() + pos, '\n', input.size() - pos);
    if (found == nullptr) return std::string_view::npos;
    std::size_t lf = static_cast<std::size_t>(static_cast<const char*>(found) - input.data());
    if (lf + 1 < input.size() && input[lf + 1] == '\n') return lf + 2;
    if (lf + 2 < input.size() && input[lf + 1] == '\r' && input[lf + 2] == '\n') return lf + 3;
    pos = lf + 1;
  }
  return std::string_view::npos;
}

// Rejects malformed escapes, encoded NUL and dot segments: clients normalise "." and ".."
// before sending, so a request that carries them is probing for a path escape.
std::optional<ParseError> check_path(std::string_view path) {
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') continue;
    if (i + 2 >= path.size() || !is_hex(path[i + 1]) || !is_hex(path[i + 2])) {
      return ParseError{400, "malformed percent-encoding in the request path"};
    }
    if (path[i + 1] == '0' && path[i + 2] == '0') return ParseError{400, "encoded NUL in the request path"};
  }
  for (std::string_view segment : split(path, '/')) {
    if (segment.size() > 6) continue;
    auto decoded = percent_decode(segment);
    if (decoded.ok() && (*decoded == "." || *decoded == "..")) {
      return ParseError{400, "dot segments are not allowed in the request path"};
    }
  }
  return std::nullopt;
}

// Splits the request-target into path and query. Origin-form ("/p?q"), absolute-form
// ("http://host/p?q", which proxies send) and asterisk-form ("*", for OPTIONS) are accepted.
std::optional<ParseError> split_target(RequestHead& head) {
  std::string_view target = head.target;
  if (target == "*") {
    if (head.method != "OPTIONS") return ParseError{400, "the asterisk request-target is only valid with OPTIONS"};
    head.path = "*";
    return std::nullopt;
  }
  if (target.find('#') != std::string_view::npos) return ParseError{400, "a request-target must not contain a fragment"};
  if (target.front() != '/') {
    std::string lower = to_lower(target.substr(0, 8));
    std::size_t authority = 0;
    if (lower.rfind("http://", 0) == 0) {
      authority = 7;
    } else if (lower.rfind("https://", 0) == 0) {
      authority = 8;
    } else {
      return ParseError{400, "the request-target must be an absolute path"};
    }
    std::size_t path_start = target.find_first_of("/?", authority);
    if (path_start == authority) return ParseError{400, "the request-target has an empty authority"};
    target = path_start == std::string_view::npos ? std::string_view("/") : target.substr(path_start);
    if (target.front() == '?') {
      head.path = "/";
      head.query = std::string(target.substr(1));
      return check_path(head.path);
    }
  }
  std::size_t question = target.find('?');
  head.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) head.query = std::string(target.substr(question + 1));
  return check_path(head.path);
}

// Content-Length may repeat (as separate fields or a list) only with one value.
std::optional<ParseError> read_content_length(const HttpHeaders& headers, std::optional<std::uint64_t>& length) {
  for (const auto& value : headers.get_all("content-length")) {
    for (std::string_view item : split(value, ',')) {
      item = trim(item);
      if (item.empty() || item.size() > 19 || item.find_first_not_of("0123456789") != std::string_view::npos) {
        return ParseError{400, "Content-Length is not a number"};
      }
      auto parsed = parse_u64(item);
      if (!parsed) return ParseError{400, "Content-Length is not a number"};
      if (length && *length != *parsed) return ParseError{400, "conflicting Content-Length values"};
      length = *parsed;
    }
  }
  return std::nullopt;
}

std::optional<ParseError> read_framing(RequestHead& head) {
  std::optional<std::uint64_t> length;
  if (auto error = read_content_length(head.headers, length)) return error;
  std::vector<std::string> encodings = head.headers.get_all("transfer-encoding");
  if (!encodings.empty()) {
    // A length next to an encoding is the classic smuggling shape: refuse rather than choose.
    if (length) return ParseError{400, "a request must not carry both Transfer-Encoding and Content-Length"};
    if (head.version_minor == 0) return ParseError{400, "Transfer-Encoding is not allowed in HTTP/1.0 requests"};
    int chunked = 0;
    for (const auto& value : encodings) {
      for (std::string_view coding : split(value, ',')) {
        coding = trim(coding);
        if (coding.empty()) continue;
        if (!iequals(coding, "chunked")) return ParseError{501, "only the chunked transfer coding is supported"};
        ++chunked;
      }
    }
    if (chunked != 1) return ParseError{400, "malformed Transfer-Encoding"};
    head.framing = BodyFraming::kChunked;
    return std::nullopt;
  }
  if (length) {
    head.content_length = *length;
    head.framing = *length > 0 ? BodyFraming::kContentLength : BodyFraming::kNone;
  }
  return std::nullopt;
}

std::optional<ParseError> parse_request_line(std::string_view line, RequestHead& head) {
  std::size_t first = line.find(' ');
  if (first == std::string_view::npos) return ParseError{400, "malformed request line"};
  std::size_t second = line.find(' ', first + 1);
  if (second == std::string_view::npos) return ParseError{400, "malformed request line"};
  std::string_view method = line.substr(0, first);
  std::string_view target = line.substr(first + 1, second - first - 1);
  std::string_view version = line.substr(second + 1);
  if (!is_http_token(method)) return ParseError{400, "malformed request method"};
  if (target.empty()) return ParseError{400, "empty request-target"};
  for (char c : target) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return ParseError{400, "invalid character in the request-target"};
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[5] < '0' || version[5] > '9' ||
      version[6] != '.' || version[7] < '0' || version[7] > '9') {
    return ParseError{400, "malformed HTTP version"};
  }
  if (version[5] != '1') return ParseError{505, "only HTTP/1.0 and HTTP/1.1 are supported"};
  head.method = std::string(method);
  head.target = std::string(target);
  // A later 1.x minor is spoken to as 1.1 (RFC 9110 section 6.2).
  head.version_minor = version[7] == '0' ? 0 : 1;
  if (head.method == "CONNECT") return ParseError{501, "CONNECT is not supported"};
  return std::nullopt;
}

std::optional<ParseError> parse_header_line(std::string_view line, HttpHeaders& headers) {
  if (line.front() == ' ' || line.front() == '\t') return ParseError{400, "obsolete line folding in a header"};
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return ParseError{400, "malformed header line"};
  std::string_view name = line.substr(0, colon);
  if (!is_http_token(name)) return ParseError{400, "malformed header name"};
  std::string_view value = line.substr(colon + 1);
  for (char c : value) {
    if (!is_field_value_char(static_cast<unsigned char>(c))) return ParseError{400, "invalid character in a header value"};
  }
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  headers.add(std::string(name), std::string(value));
  return std::nullopt;
}

}  // namespace

bool is_http_token(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!is_tchar(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool header_lists_token(std::string_view value, std::string_view token) {
  for (std::string_view item : split(value, ',')) {
    if (iequals(trim(item), token)) return true;
  }
  return false;
}

std::optional<std::string> query_value(std::string_view query, std::string_view name) {
  for (std::string_view item : split(query, '&')) {
    std::size_t eq = item.find('=');
    std::string key(item.substr(0, eq));
    for (char& c : key) {
      if (c == '+') c = ' ';
    }
    auto decoded_key = percent_decode(key);
    if (!decoded_key.ok() || *decoded_key != name) continue;
    std::string value(eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1));
    for (char& c : value) {
      if (c == '+') c = ' ';
    }
    auto decoded = percent_decode(value);
    if (!decoded.ok()) return std::nullopt;
    return std::move(decoded).value();
  }
  return std::nullopt;
}

HeadParse parse_request_head(std::string_view input, const ParserLimits& limits, std::size_t scanned) {
  // Empty lines before a request line are ignored (robustness for clients that send an extra
  // CRLF after a body); they still count against the head limit.
  std::size_t start = 0;
  while (start < input.size() && (input[start] == '\n' || (input[start] == '\r' && start + 1 < input.size() &&
                                                           input[start + 1] == '\n'))) {
    start += input[start] == '\r' ? 2 : 1;
  }
  if (start >= limits.max_head_bytes) return fail(431, "request header section too large");
  std::size_t from = std::max(start, scanned >= 2 ? scanned - 2 : std::size_t{0});
  std::size_t end = find_head_end(input.substr(0, std::min(input.size(), limits.max_head_bytes)), from);
  if (end == std::string_view::npos) {
    if (input.size() >= limits.max_head_bytes) return fail(431, "request header section too large");
    // Bytes that cannot start a method (a TLS handshake on the plain port, binary noise) are
    // refused now rather than after the header timeout.
    std::string_view line = input.substr(start);
    std::string_view method = line.substr(0, line.find_first_of(" \r\n"));
    if (!method.empty() && !is_http_token(method)) return fail(400, "malformed request method");
    HeadParse result;
    result.scanned = input.size();
    return result;
  }

  HeadParse result;
  RequestHead& head = result.head;
  std::string_view text = input.substr(start, end - start);
  bool first_line = true;
  std::size_t count = 0;
  while (!text.empty()) {
    std::size_t lf = text.find('\n');
    std::string_view line = text.substr(0, lf);
    text.remove_prefix(lf + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos) return fail(400, "bare CR in the request head");
    if (line.empty()) break;  // the blank line that ends the head
    if (first_line) {
      if (auto error = parse_request_line(line, head)) return fail(error->status, error->message);
      first_line = false;
      continue;
    }
    if (++count > limits.max_header_count) return fail(431, "too many request header fields");
    if (auto error = parse_header_line(line, head.headers)) return fail(error->status, error->message);
  }
  if (first_line) return fail(400, "missing request line");

  if (auto error = split_target(head)) return fail(error->status, error->message);
  std::vector<std::string> hosts = head.headers.get_all("host");
  if (hosts.size() > 1) return fail(400, "more than one Host header");
  if (hosts.empty() && head.version_minor == 1) return fail(400, "HTTP/1.1 requests must carry a Host header");
  if (auto error = read_framing(head)) return fail(error->status, error->message);

  std::vector<std::string> connection = head.headers.get_all("connection");
  bool close = false;
  bool keep_alive = false;
  for (const auto& value : connection) {
    close = close || header_lists_token(value, "close");
    keep_alive = keep_alive || header_lists_token(value, "keep-alive");
  }
  head.keep_alive = head.version_minor == 1 ? !close : (keep_alive && !close);

  // HTTP/1.0 clients do not know 100 Continue; RFC 9110 says to ignore the expectation.
  if (head.version_minor == 1) {
    std::vector<std::string> expect = head.headers.get_all("expect");
    for (const auto& value : expect) {
      if (!iequals(trim(value), "100-continue")) return fail(417, "only the 100-continue expectation is supported");
      head.expect_continue = true;
    }
  }
  result.state = HeadParse::State::kComplete;
  result.consumed = end;
  return result;
}

Error ChunkedDecoder::fail(int status, std::string message) {
  state_ = State::kFailed;
  error_status_ = status;
  return Error(status == 413 ? ErrorCode::kResourceExhausted : ErrorCode::kParse, std::move(message));
}

Result<std::size_t> ChunkedDecoder::feed(std::string_view input, std::string& out) {
  if (state_ == State::kFailed) return Error(ErrorCode::kParse, "chunked body already failed");
  std::size_t i = 0;
  while (i < input.size() && state_ != State::kDone) {
    char c = input[i];
    switch (state_) {
      case State::kSize:
        if (is_hex(c)) {
          if (++size_digits_ > 16) return fail(400, "chunk size too large");
          chunk_left_ = (chunk_left_ << 4) | static_cast<std::uint64_t>(hex_value(c));
          ++i;
          break;
        }
        if (size_digits_ == 0) return fail(400, "malformed chunk size");
        if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::kExtension;
          line_bytes_ = 0;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
          ++i;
        } else {
          return fail(400, "malformed chunk size");
        }
        break;
      case State::kExtension:
        if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (!is_field_value_char(static_cast<unsigned char>(c))) {
          return fail(400, "invalid character in a chunk extension");
        } else if (++line_bytes_ > limits_.max_chunk_line_bytes) {
          return fail(400, "chunk extension too long");
        }
        ++i;
        break;
      case State::kSizeLf:
        if (c != '\n') return fail(400, "chunk size line must end in CRLF");
        ++i;
        if (chunk_left_ == 0) {
          state_ = State::kTrailer;
          trailer_line_empty_ = true;
          saw_cr_ = false;
          line_bytes_ = 0;
        } else {
          if (chunk_left_ > max_body_ || total_ > max_body_ - chunk_left_) return fail(413, "request body too large");
          state_ = State::kData;
        }
        break;
      case State::kData: {
        std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_left_, input.size() - i));
        out.append(input.data() + i, take);
        i += take;
        chunk_left_ -= take;
        total_ += take;
        if (chunk_left_ == 0) state_ = State::kDataCr;
        break;
      }
      case State::kDataCr:
        if (c != '\r') return fail(400, "chunk data must end in CRLF");
        state_ = State::kDataLf;
        ++i;
        break;
      case State::kDataLf:
        if (c != '\n') return fail(400, "chunk data must end in CRLF");
        state_ = State::kSize;
        size_digits_ = 0;
        ++i;
        break;
      case State::kTrailer:
        ++i;
        if (++trailer_bytes_ > limits_.max_chunk_line_bytes) return fail(400, "chunked trailer section too large");
        if (saw_cr_) {
          if (c != '\n') return fail(400, "bare CR in the chunked trailer section");
          if (trailer_line_empty_) {
            state_ = State::kDone;
          } else {
            trailer_line_empty_ = true;
            saw_cr_ = false;
          }
        } else if (c == '\r') {
          saw_cr_ = true;
        } else if (c == '\n' || !is_field_value_char(static_cast<unsigned char>(c))) {
          return fail(400, "invalid character in the chunked trailer section");
        } else {
          trailer_line_empty_ = false;
        }
        break;
      case State::kDone:
      case State::kFailed:
        break;
    }
  }
  return i;
}

}  // namespace airlock::net
