// HttpResponse: what came back, a streaming sink for bodies too large to hold, and the mapping
// from HTTP statuses to airlock errors that every store and hub client shares.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/result.h"
#include "net/http_headers.h"

namespace airlock::net {

struct HttpResponse {
  int status = 0;
  std::string reason;   // "Not Found"; the standard phrase when the server sent none (HTTP/2)
  HttpHeaders headers;  // of the final response (after redirects)
  // The body when no sink was given. With a sink, only a non-2xx body lands here (the sink
  // never sees error documents), cut to HttpClientOptions::max_error_body bytes.
  std::string body;
  std::string method;  // of the final request (a 303 turns POST into GET)
  std::string url;     // the effective URL after redirects; may hold a presigned query
  int attempts = 0;    // 1 + retries + resumes
  int redirects = 0;
  int resumes = 0;
  std::uint64_t body_bytes = 0;  // body bytes delivered (to the sink or into `body`)

  bool ok() const { return status >= 200 && status < 300; }
};

// Receives a streamed 2xx response. on_headers runs once, before any data; on_data runs for each
// chunk, in order. A broken GET that the client resumes continues on the same sink without a
// second on_headers and without repeating bytes. An error returned by either aborts the transfer
// and is what send() returns. Both run on a client event-loop thread: keep them short, and never
// call HttpClient::send() from them.
struct HttpSink {
  std::function<Status(int status, const HttpHeaders& headers)> on_headers;
  std::function<Status(std::string_view bytes)> on_data;

  bool empty() const { return !on_headers && !on_data; }
};

// 400 kInvalidArgument, 401 kUnauthenticated, 403 kPermissionDenied, 404/410 kNotFound,
// 408 kTimeout, 409/412 kAlreadyExists, 413 kResourceExhausted, 429 kUnavailable,
// 501 kUnsupported, 507 kResourceExhausted, other 5xx kUnavailable, other 4xx kInvalidArgument.
ErrorCode error_code_for_status(int status);

// "Not Found" for 404; "" for codes without a standard phrase.
std::string_view reason_phrase(int status);

// An Error for a non-2xx response: "GET https://host/path: HTTP 404 Not Found (after 3 attempts):
// <first few hundred characters of the server's message>". The URL loses its query and the
// excerpt goes through redact(), so neither a presigned signature nor a token is shown.
Error http_error(const HttpResponse& response);

// The response when it is 2xx, else http_error(response); errors pass through. For call sites
// that treat every non-2xx as a failure:
//   AIRLOCK_ASSIGN_OR_RETURN(auto response, require_success(client.send(request)));
Result<HttpResponse> require_success(Result<HttpResponse> response);

}  // namespace airlock::net
