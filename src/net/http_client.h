// HttpClient: HTTP(S) on libcurl for every remote thing airlock talks to (object stores, model
// hubs, plain servers). One client is meant to be shared: it runs a few event-loop threads, each
// driving many transfers through a curl multi handle, so connections, TLS sessions and DNS
// answers are reused across requests.
//
// What it does for every request: retries with exponential backoff and full jitter (connection
// failures, 429, 500, 502, 503, 504, honouring Retry-After), resumes a broken GET body with a
// Range request without the sink ever seeing a restart, follows redirects itself (dropping
// credentials when the origin changes), detects stalls, and keeps secrets out of every message.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "net/http_headers.h"
#include "net/http_request.h"
#include "net/http_response.h"

namespace airlock::net {

// "airlock/<version>".
std::string default_user_agent();

struct HttpClientOptions {
  // PEM file of trusted CAs (the CLI's --ca-bundle). Empty: $SSL_CERT_FILE (and $SSL_CERT_DIR)
  // when set, else the system default.
  std::string ca_bundle;
  // Skip TLS certificate and host name verification. Logged as a warning when a client is made.
  bool insecure = false;
  std::chrono::milliseconds connect_timeout{30'000};
  // Stall detection: an attempt moving fewer than `low_speed_limit` bytes/s for `low_speed_time`
  // is aborted (kTimeout, or resumed when it is a GET body). 0 turns it off.
  long low_speed_limit = 1;
  std::chrono::seconds low_speed_time{60};
  // Deadline for each send(), retries included. Unset: none.
  std::optional<std::chrono::milliseconds> total_timeout;
  // Retries after the first attempt (resumes of a broken body count as retries).
  int max_retries = 4;
  std::chrono::milliseconds base_backoff{250};
  std::chrono::milliseconds max_backoff{30'000};
  // A server's Retry-After is obeyed up to this long.
  std::chrono::milliseconds max_retry_after{60'000};
  std::string user_agent = default_user_agent();
  // Transfers in flight at once, in total and per origin (scheme://host:port); more wait in a
  // queue without their timeouts running.
  int max_transfers = 64;
  int max_transfers_per_host = 16;
  // Event-loop threads. One drives hundreds of transfers; more help only when TLS or sinks use a
  // whole core.
  int event_loops = 1;
  // Offer HTTP/2 to TLS servers (ALPN). Off: HTTP/1.1 only, one connection per transfer.
  bool http2 = true;
  // How much of a non-2xx body is kept for error messages.
  std::size_t max_error_body = std::size_t{64} * 1024;
};

class HttpClient {
 public:
  using Completion = std::function<void(Result<HttpResponse>)>;

  // Fails when curl cannot start or the CA bundle named in the options does not exist.
  static Result<std::unique_ptr<HttpClient>> create(HttpClientOptions options = {});

  // Cancels what is still in flight (completions receive kCancelled) and joins the threads.
  // Must not run on one of the client's own threads (from a completion or a sink).
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends and waits. The body of the response is buffered in HttpResponse::body. Returns an
  // Error only when no HTTP response was obtained (connection, TLS, timeout, cancelled, a resume
  // that could not continue, too many redirects); a non-2xx status is a response (see
  // require_success() and http_error()). Must not be called from a sink or a completion.
  Result<HttpResponse> send(HttpRequest request);
  // Sends and streams a 2xx body into `sink` instead of buffering it.
  Result<HttpResponse> send(HttpRequest request, HttpSink sink);

  // Starts the request and returns at once.
  std::future<Result<HttpResponse>> submit(HttpRequest request, HttpSink sink = {});
  // Starts the request; `done` runs on an event-loop thread when it ends (it may submit more).
  void submit(HttpRequest request, HttpSink sink, Completion done);

  // Sends all, in parallel within the client's limits; results in the order of `requests`.
  std::vector<Result<HttpResponse>> send_all(std::vector<HttpRequest> requests);

  const HttpClientOptions& options() const;

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace airlock::net
