// One request/response exchange of HttpServer, as a handler sees it: the parsed ServerRequest,
// the ServerResponse it builds, and the Responder through which the answer goes back. A
// Responder may be kept after the handler returns and used from any thread (a batching
// scheduler answers later), and it tells the handler when the client went away so that queued
// work for it can be dropped.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json.h"
#include "net/http_headers.h"

namespace airlock::net {

struct ServerRequest {
  std::string method;  // "GET", "POST", ... (a HEAD request reaches GET routes as "HEAD")
  std::string target;  // the request-target as sent, query included: never log it
  std::string path;    // percent-encoded, without the query: what access logs show
  std::string query;   // after '?', without it; may carry secrets: never log it
  int version_minor = 1;  // HTTP/1.<minor>
  HttpHeaders headers;
  std::string body;  // complete (chunked bodies are decoded)
  // Values of the route's {name} segments (percent-decoded) and of a trailing {name*} (the rest
  // of the path, still percent-encoded), in pattern order.
  std::vector<std::pair<std::string, std::string>> params;
  std::string remote_address;  // "127.0.0.1:53122", "[::1]:53122"
  bool tls = false;
  // Becomes true when the client goes away (or the server gives up on the request at shutdown).
  // The same type as RequestOptions::cancel, so it can be handed to an HttpClient request.
  std::shared_ptr<const std::atomic<bool>> cancel;

  // The value of route parameter `name`; "" when the route has none of that name.
  std::string_view param(std::string_view name) const;
  // The decoded value of query parameter `name`.
  std::optional<std::string> query_param(std::string_view name) const;
  std::optional<std::string> header(std::string_view name) const { return headers.get(name); }
  bool cancelled() const { return cancel && cancel->load(std::memory_order_acquire); }
};

struct ServerResponse {
  int status = 200;
  // The server adds Date, Server, Content-Length (or Transfer-Encoding) and Connection itself and
  // drops handler values for them; "Connection: close" from a handler closes the connection after
  // this response. Fields with CR, LF or NUL are dropped (no response splitting).
  HttpHeaders headers;
  std::string body;

  static ServerResponse json(int status, std::string body);
  static ServerResponse json(int status, const Json& value);
  static ServerResponse text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  // {"error": {"code": "not_found", "message": "..."}} (JSON): the body of every error the server
  // produces itself unless HttpServerOptions::error_response says otherwise.
  static ServerResponse error(int status, std::string_view message);
};

// "not_found" for 404, "content_too_large" for 413, ...: the code in ServerResponse::error bodies.
std::string error_code_for_http_status(int status);
// The reason phrase for statuses a server sends ("Request Header Fields Too Large" for 431).
std::string_view server_reason_phrase(int status);

namespace detail {

// Fired once when the client goes away; callbacks registered after that run at once.
class CancelState {
 public:
  CancelState() = default;
  // Sets the flag and runs the callbacks (on the calling thread, outside the lock).
  void fire();
  void add(std::function<void()> callback);
  bool fired() const { return flag_.load(std::memory_order_acquire); }
  std::shared_ptr<const std::atomic<bool>> flag(const std::shared_ptr<CancelState>& self) const {
    return std::shared_ptr<const std::atomic<bool>>(self, &flag_);
  }

 private:
  std::atomic<bool> flag_{false};
  std::mutex mutex_;
  std::vector<std::function<void()>> callbacks_;
};

// Flow control of a streamed body between a handler thread and the connection's event loop:
// the writer waits while too many bytes are queued and not yet taken by the kernel.
struct StreamFlow {
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t posted = 0;    // handed to the loop, not yet queued on the connection
  std::size_t buffered = 0;  // queued on the connection, not yet written to the socket
  bool closed = false;       // the exchange is over: writes are refused
  void close() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      closed = true;
    }
    changed.notify_all();
  }
};

struct ExchangeEvent {
  // kAbandon: nobody will answer because the client left; the connection is closed.
  enum class Kind { kResponse, kStreamHead, kStreamData, kStreamEnd, kStreamAbort, kAbandon };
  Kind kind = Kind::kResponse;
  ServerResponse response;  // kResponse; kStreamHead (status and headers)
  std::string data;         // kStreamData
};

// Shared by the copies of a Responder and of its ResponseStream. When the last copy goes away
// without an answer, the client gets a 500 (or, mid-stream, a truncated body and a closed
// connection) instead of waiting forever.
struct ExchangeState {
  enum class Phase { kOpen, kResponded, kStreaming, kDone };
  // Delivers an event to the connection's event loop; thread-safe; dropped when the connection
  // or the server is gone.
  std::function<void(ExchangeEvent)> post;
  std::shared_ptr<CancelState> cancel;
  std::shared_ptr<StreamFlow> flow;
  std::size_t stream_high_water = 1 << 20;
  bool head_request = false;
  std::mutex mutex;
  Phase phase = Phase::kOpen;

  ~ExchangeState();
};

}  // namespace detail

// The body of a streamed response (chunked on HTTP/1.1; on HTTP/1.0 the connection closes at
// the end). Copies share one stream. Thread-safe; write() may block while the client reads slowly.
class ResponseStream {
 public:
  ResponseStream() = default;
  explicit ResponseStream(std::shared_ptr<detail::ExchangeState> state) : state_(std::move(state)) {}

  // Queues `data`. Blocks while more than about 1 MiB is waiting for the client. Returns false
  // when nothing more will be delivered (the client went away, finish() was called, the request
  // was HEAD, or this stream is empty): stop producing then.
  bool write(std::string_view data);
  // Ends the body. Without it, when the last copy goes away the body is cut off and the
  // connection closed, so the client can tell it is incomplete.
  void finish();
  bool valid() const { return state_ != nullptr; }

 private:
  std::shared_ptr<detail::ExchangeState> state_;
};

// Answers one request, once, from any thread. Copies share the answer: the first respond() or
// start_stream() wins and later ones return false / an empty stream.
class Responder {
 public:
  explicit Responder(std::shared_ptr<detail::ExchangeState> state) : state_(std::move(state)) {}

  bool respond(ServerResponse response);
  // Sends status and headers now; the body follows through the returned stream.
  ResponseStream start_stream(int status, HttpHeaders headers = {});

  // Whether the client went away (no one will read the answer).
  bool cancelled() const { return state_->cancel->fired(); }
  // Runs `callback` once when the client goes away; at once when it already has. It runs on the
  // server's event-loop thread: keep it short and never block in it (for example, mark the
  // queued work as dropped and return).
  void on_cancel(std::function<void()> callback) { state_->cancel->add(std::move(callback)); }
  std::shared_ptr<const std::atomic<bool>> cancel_flag() const { return state_->cancel->flag(state_->cancel); }
  bool responded() const;

 private:
  std::shared_ptr<detail::ExchangeState> state_;
};

}  // namespace airlock::net
