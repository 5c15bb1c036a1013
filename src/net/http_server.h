// HttpServer: the embeddable HTTP/1.1 server that `airlock serve` and `airlock manager` answer
// on. Epoll event loops on their own threads do all socket work (accept, TLS handshakes,
// parsing, writing) on non-blocking sockets; handlers run on a worker pool so a slow one never
// stalls I/O, and may answer later from any thread through their Responder. It is meant to face
// the network directly: strict parsing with the right statuses (400, 413 before reading a body,
// 431, 501, 505), header, body, idle and write timeouts (a client trickling bytes is closed), a
// connection cap, lingering close so error answers are read, and graceful shutdown.
//
// Typical use:
//   Router router;
//   router.add("GET", "/v1/models", [](const ServerRequest&) { return ServerResponse::json(200, ...); });
//   AIRLOCK_ASSIGN_OR_RETURN(auto server, HttpServer::start(options, std::move(router)));
//   TerminationSignal signal;           // SIGTERM / SIGINT
//   signal.wait();
//   server->shutdown(std::chrono::seconds(30));  // finish in-flight requests, then close
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "net/http_exchange.h"
#include "net/http_parser.h"
#include "net/http_router.h"
#include "net/tls_context.h"

namespace airlock::net {

// One finished request, for an access log. Never carries the query string or header values
// (Authorization, API keys): only what is safe to write anywhere.
struct AccessLogEntry {
  std::string_view method;  // "-" when the request line could not be read
  std::string_view path;    // percent-encoded, without the query; "-" when unknown
  int status = 0;
  std::uint64_t body_bytes = 0;  // of the response body
  // From the request's first byte until its response was handed to the connection.
  std::chrono::microseconds duration{0};
  std::string_view remote_address;
};

// `127.0.0.1:53122 "GET /v1/models" 200 1234B 0.81ms`, passed through redact().
std::string format_access_log(const AccessLogEntry& entry);

// "airlock/<version>": the Server header.
std::string default_server_header();

struct HttpServerOptions {
  // An IPv4 or IPv6 literal ("0.0.0.0", "::", "[::1]") or a name resolved locally
  // ("localhost"). "::" accepts IPv4 too (dual stack).
  std::string host = "127.0.0.1";
  int port = 0;  // 0: a free port, reported by HttpServer::port()
  std::optional<TlsOptions> tls;

  // Connections open at once; beyond it new ones get 503 and are closed (over TLS: closed).
  std::size_t max_connections = 1024;
  // Request bodies larger than this get 413 (RouteOptions::max_body_bytes overrides per route).
  std::uint64_t max_body_bytes = std::uint64_t{16} << 20;
  ParserLimits limits;  // request head size and header count (431 beyond)

  // From a request's first byte (or a TLS connection's start) until its head is complete.
  std::chrono::milliseconds header_timeout{10'000};
  // From the end of the head until the whole body has arrived.
  std::chrono::milliseconds body_timeout{60'000};
  // A keep-alive connection with no request in progress.
  std::chrono::milliseconds idle_timeout{60'000};
  // A response that makes no progress into the socket for this long (the client stopped reading).
  std::chrono::milliseconds write_timeout{60'000};
  // After an answer that closes the connection with request bytes unread, how long the rest is
  // read and dropped so the client sees the answer rather than a reset.
  std::chrono::milliseconds linger_timeout{2'000};

  // Handler threads; 0: max(4, hardware threads).
  std::size_t worker_threads = 0;
  // Event-loop threads sharing the listening socket. One handles thousands of connections; more
  // help only when TLS uses a whole core.
  int event_loops = 1;
  int listen_backlog = 1024;

  std::string server_header = default_server_header();
  // Builds the answers the server gives itself (404, 405, 413, 400, ...). Default:
  // ServerResponse::error (JSON {"error": {"code", "message"}}).
  std::function<ServerResponse(int status, std::string_view message)> error_response;
  // Called once per answered request, on an event-loop thread: keep it short.
  std::function<void(const AccessLogEntry&)> access_log;
};

// Counters a caller can export as metrics.
struct HttpServerStats {
  std::uint64_t open_connections = 0;
  std::uint64_t accepted_connections = 0;  // since start
  std::uint64_t rejected_connections = 0;  // over max_connections
  std::uint64_t requests_in_flight = 0;    // dispatched to a handler, response not yet complete
  std::uint64_t requests_served = 0;       // responses completed, errors included
};

class HttpServer {
 public:
  // Binds, listens and starts the event loops and workers. Errors: the address cannot be bound
  // (in use, not local), TLS files unusable, bad options.
  static Result<std::unique_ptr<HttpServer>> start(HttpServerOptions options, Router router);

  // shutdown(0): cancels what is still in flight and joins every thread.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;
  // "http://127.0.0.1:8000", "https://[::1]:8443" (a wildcard host shows as a loopback one).
  std::string url() const;
  HttpServerStats stats() const;

  // Closes the listening socket (new connections are refused), closes idle keep-alive
  // connections, and makes every later response carry "Connection: close". Idempotent. Must not
  // be called from an event-loop thread (an on_cancel callback or the access log).
  void stop_accepting();
  // stop_accepting(), then waits up to `deadline` for open connections to finish their current
  // requests; then cancels what is left (handlers see their cancel flag), closes everything and
  // joins the threads (a handler still running is waited for). Returns whether everything
  // finished before the deadline. Idempotent. Not from a handler or an event-loop thread.
  bool shutdown(std::chrono::milliseconds deadline);

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Waits for SIGTERM or SIGINT. The server leaves signals to its caller; this is the usual way
// to run until one arrives. Construct it before the signal can come (handlers are installed in
// the constructor, the previous ones restored by the destructor). One instance at a time.
class TerminationSignal {
 public:
  TerminationSignal();
  ~TerminationSignal();
  TerminationSignal(const TerminationSignal&) = delete;
  TerminationSignal& operator=(const TerminationSignal&) = delete;

  // Blocks until a signal arrives; returns its number.
  int wait();
  // Like wait(), giving up after `timeout` (nullopt then).
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
};

}  // namespace airlock::net
