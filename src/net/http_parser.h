// HTTP/1.1 request parsing for HttpServer (RFC 9110/9112): the request head and chunked bodies.
// It faces the network, so it is strict where leniency enables request smuggling or response
// splitting (obs-fold, space before a colon, conflicting lengths, bare CR), bounded everywhere, and
// incremental without I/O of its own: the server feeds it what it has read and it says whether it
// needs more. Every rejection carries the status to answer with.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "net/http_headers.h"

namespace airlock::net {

struct ParserLimits {
  // Request line plus header fields, terminating blank line included (431 beyond).
  std::size_t max_head_bytes = 32 * 1024;
  std::size_t max_header_count = 100;  // 431 beyond
  // Chunk extensions and trailer section of a chunked body (400 beyond).
  std::size_t max_chunk_line_bytes = 4 * 1024;
};

// How the body of a request is delimited.
enum class BodyFraming { kNone, kContentLength, kChunked };

struct RequestHead {
  std::string method;  // as sent: methods are case-sensitive
  std::string target;  // the request-target as sent (origin-form, absolute-form or "*")
  std::string path;    // the path of the target, still percent-encoded; "*" for asterisk-form
  std::string query;   // after '?', without it; "" when absent
  int version_minor = 1;  // HTTP/1.<minor>: 0 or 1
  HttpHeaders headers;
  BodyFraming framing = BodyFraming::kNone;
  std::uint64_t content_length = 0;  // when framing is kContentLength
  bool keep_alive = true;            // from the version and the Connection header
  bool expect_continue = false;      // "Expect: 100-continue" on an HTTP/1.1 request
};

// Why a request cannot be served: the status to answer with (400, 431, 501, 505, 417) and a
// message safe to show the client (it never echoes header values).
struct ParseError {
  int status = 400;
  std::string message;
};

struct HeadParse {
  enum class State { kIncomplete, kComplete, kError };
  State state = State::kIncomplete;
  std::size_t consumed = 0;  // bytes of the input the head took (kComplete)
  // kIncomplete: how much of the input is known to hold no end of head yet; pass it back as
  // `scanned` with more input so that a client sending a byte at a time costs linear work.
  std::size_t scanned = 0;
  RequestHead head;          // kComplete
  ParseError error;          // kError
};

// Parses a request head from the start of `input`. kIncomplete means "read more" (and is
// answered with 431 by the parser itself once `input` is past the limit without a blank line).
// Leading empty lines before the request line are skipped, as RFC 9112 section 2.2 allows.
HeadParse parse_request_head(std::string_view input, const ParserLimits& limits = {}, std::size_t scanned = 0);

// Decodes a chunked body incrementally. feed() takes bytes as they arrive, appends the decoded
// data to `out` and returns how many input bytes it used; once done() is true it uses no more (the
// rest belongs to the next request). Trailer fields are read and dropped.
class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(std::uint64_t max_body_bytes, ParserLimits limits = {})
      : max_body_(max_body_bytes), limits_(limits) {}

  // An error (400 malformed, 413 over `max_body_bytes`) is final.
  Result<std::size_t> feed(std::string_view input, std::string& out);
  bool done() const { return state_ == State::kDone; }
  std::uint64_t body_bytes() const { return total_; }
  // Set after feed() returned an error: the status to answer with.
  int error_status() const { return error_status_; }

 private:
  enum class State { kSize, kExtension, kSizeLf, kData, kDataCr, kDataLf, kTrailer, kDone, kFailed };
  Error fail(int status, std::string message);

  std::uint64_t max_body_;
  ParserLimits limits_;
  State state_ = State::kSize;
  std::uint64_t chunk_left_ = 0;
  std::uint64_t total_ = 0;
  int size_digits_ = 0;
  std::size_t line_bytes_ = 0;  // of the current extension or trailer line
  std::size_t trailer_bytes_ = 0;
  bool trailer_line_empty_ = true;
  bool saw_cr_ = false;
  int error_status_ = 0;
};

// Whether `name` is an HTTP token (tchar+): method names and header field names.
bool is_http_token(std::string_view name);

// Whether a comma-separated header value (Connection, Transfer-Encoding) lists `token`, in any case.
bool header_lists_token(std::string_view value, std::string_view token);

// The value of `name` in a query string ("a=1&b=x%20y"), decoded ('+' is a space, as HTML forms
// send it); nullopt when absent or badly encoded.
std::optional<std::string> query_value(std::string_view query, std::string_view name);

}  // namespace airlock::net
