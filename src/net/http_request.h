// HttpRequest: what to send. Bodies are either in memory or read on demand from a source with a
// known size (files of many GiB are uploaded without being loaded), and a signer can be attached
// so that every attempt (retries, resumes, redirects) carries a fresh signature.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/result.h"
#include "net/http_headers.h"

namespace airlock::net {

// Bytes [first, last] of a resource (`last` inclusive; nullopt means "to the end").
struct ByteRange {
  std::uint64_t first = 0;
  std::optional<std::uint64_t> last;

  // "bytes=first-last" or "bytes=first-".
  std::string header_value() const;
};

// An upload body read on demand. `read` fills `buffer` with the body's bytes starting at
// `offset` and returns how many it wrote (0 only at the end). Reads are positional so that a
// retry, a redirect (307/308) or curl's own rewind can send the body again from the start. It is
// called on one of the client's event-loop threads; an error aborts the transfer and is returned
// from send() as is.
struct BodySource {
  std::uint64_t size = 0;
  std::function<Result<std::size_t>(std::uint64_t offset, std::span<char> buffer)> read;
};

// The request as it is about to go out on one attempt: a signer may add headers (Authorization,
// x-amz-date, ...) or change the URL (query-string signatures). `headers` already holds what the
// client adds for this attempt (Range, If-Range), so a signature can cover them.
struct OutgoingRequest {
  std::string method;
  std::string url;
  HttpHeaders headers;
  std::uint64_t body_size = 0;
};
// Called before every attempt that goes to the request's original origin; never after a redirect
// to another origin, so that credentials are not handed to a host the caller did not name.
using RequestSigner = std::function<Status(OutgoingRequest& request)>;

// Per-request settings; unset values come from HttpClientOptions.
struct RequestOptions {
  bool follow_redirects = true;
  int max_redirects = 10;
  std::optional<int> max_retries;
  std::optional<std::chrono::milliseconds> connect_timeout;
  // Abort an attempt whose transfer rate stays below `low_speed_limit` bytes/s for
  // `low_speed_time` (stall detection; also bounds the wait for response headers).
  std::optional<long> low_speed_limit;
  std::optional<std::chrono::seconds> low_speed_time;
  // A deadline for the whole send(): every attempt and every wait between attempts.
  std::optional<std::chrono::milliseconds> total_timeout;
  // Whether the request may be sent twice. Unset: true for GET, HEAD, PUT, DELETE, OPTIONS.
  // A request that is not idempotent is retried only when it cannot have reached the server
  // (connection refused, name not resolved) or the server answered 429 or 503. (curl itself
  // resends any request once when a reused keep-alive connection turns out to be closed before a
  // response byte arrives: the usual race with a server closing an idle connection.)
  std::optional<bool> idempotent;
  // Continue a broken GET body with a Range request instead of failing.
  bool resume = true;
  // Kerberos SPNEGO (HTTP Negotiate) through libcurl's GSS-API, with the ticket of the
  // credential cache KRB5CCNAME names (WebHDFS on secure clusters).
  bool negotiate = false;
  // Set to true (from any thread) to abort the request; send() then returns kCancelled.
  std::shared_ptr<const std::atomic<bool>> cancel;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HttpHeaders headers;
  // No body, an in-memory body, or a streamed one.
  std::variant<std::monostate, std::string, BodySource> body;
  // Sent as "Range: bytes=..." (replacing any Range header given in `headers`).
  std::optional<ByteRange> range;
  // Header names that carry credentials, dropped when a redirect leaves the origin (for example
  // "x-amz-security-token"). Authorization, Proxy-Authorization and Cookie always are.
  std::vector<std::string> sensitive_headers;
  RequestSigner signer;
  RequestOptions options;

  static HttpRequest get(std::string url);
  static HttpRequest head(std::string url);
  static HttpRequest put(std::string url, std::string body);
  static HttpRequest put(std::string url, BodySource body);
  static HttpRequest post(std::string url, std::string body, std::string content_type);

  // The body's size in bytes (0 when there is none).
  std::uint64_t body_size() const;
  bool has_body() const { return !std::holds_alternative<std::monostate>(body); }
};

// Whether `method` is safe to repeat by default (see RequestOptions::idempotent).
bool is_idempotent_method(std::string_view method);

}  // namespace airlock::net
