#include "manager/model_proxy.h"

#include <fmt/format.h>

#include <mutex>

#include "core/log.h"
#include "core/strings.h"
#include "net/http_url.h"

namespace airlock::manager {
namespace {

// Hop-by-hop headers (RFC 9110 7.6.1), what the server or client sets itself, and credentials
// meant for the manager: never forwarded.
bool forwarded_request_header(std::string_view name) {
  static constexpr std::string_view kDropped[] = {
      "connection", "keep-alive",     "proxy-connection", "te",           "trailer",        "transfer-encoding",
      "upgrade",    "host",           "content-length",   "authorization", "x-access-key",   "cookie",
      "expect",     "accept-encoding", "proxy-authorization"};
  for (std::string_view dropped : kDropped) {
    if (iequals(name, dropped)) return false;
  }
  return true;
}

bool forwarded_response_header(std::string_view name) {
  static constexpr std::string_view kDropped[] = {"connection", "keep-alive",     "transfer-encoding", "content-length",
                                                  "date",       "server",         "trailer",           "upgrade",
                                                  "set-cookie", "proxy-authenticate"};
  for (std::string_view dropped : kDropped) {
    if (iequals(name, dropped)) return false;
  }
  return true;
}

// What the completion needs after the sink ran.
struct ProxyExchange {
  std::mutex mutex;
  net::Responder responder;
  net::ResponseStream stream;
  bool streaming = false;
  explicit ProxyExchange(net::Responder r) : responder(std::move(r)) {}
};

}  // namespace

Result<std::unique_ptr<ModelProxy>> ModelProxy::create(ProxyOptions options) {
  net::HttpClientOptions client_options;
  client_options.max_retries = 0;  // a POST to a model is not repeated behind the caller's back
  client_options.connect_timeout = options.connect_timeout;
  client_options.http2 = false;
  client_options.max_transfers = 256;
  client_options.max_transfers_per_host = 128;
  // A slow client blocks the loop that streams to it (flow control): more than one loop.
  client_options.event_loops = 2;
  AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<net::HttpClient> client, net::HttpClient::create(client_options));
  return std::unique_ptr<ModelProxy>(new ModelProxy(options, std::move(client)));
}

void ModelProxy::forward(const net::ServerRequest& request, const std::string& rest, const ProxyTarget& target,
                         net::Responder responder) {
  net::HttpRequest upstream;
  upstream.method = request.method == "HEAD" ? "HEAD" : request.method;
  upstream.url = target.base_url + "/" + rest + (request.query.empty() ? "" : "?" + request.query);
  for (const auto& [name, value] : request.headers) {
    if (forwarded_request_header(name)) upstream.headers.add(name, value);
  }
  upstream.headers.set("Authorization", "Bearer " + target.api_key);
  upstream.headers.set("X-Forwarded-For", request.remote_address.substr(0, request.remote_address.rfind(':')));
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT" || request.method == "PATCH") {
    upstream.body = request.body;
  }
  upstream.options.max_retries = 0;
  upstream.options.total_timeout = options_.timeout;
  upstream.options.follow_redirects = false;
  upstream.options.resume = false;
  upstream.options.idempotent = false;
  upstream.options.cancel = request.cancel;

  auto exchange = std::make_shared<ProxyExchange>(std::move(responder));
  net::HttpSink sink;
  sink.on_headers = [exchange](int status, const net::HttpHeaders& headers) -> Status {
    net::HttpHeaders out;
    for (const auto& [name, value] : headers) {
      if (forwarded_response_header(name)) out.add(name, value);
    }
    std::lock_guard<std::mutex> lock(exchange->mutex);
    exchange->stream = exchange->responder.start_stream(status, std::move(out));
    exchange->streaming = true;
    return ok_status();
  };
  sink.on_data = [exchange](std::string_view bytes) -> Status {
    net::ResponseStream stream;
    {
      std::lock_guard<std::mutex> lock(exchange->mutex);
      stream = exchange->stream;
    }
    if (!stream.write(bytes)) return Error(ErrorCode::kCancelled, "the client went away");
    return ok_status();
  };
  const std::string display = net::display_url(upstream.url);
  client_->submit(std::move(upstream), std::move(sink), [exchange, display](Result<net::HttpResponse> result) {
    std::lock_guard<std::mutex> lock(exchange->mutex);
    if (exchange->streaming) {
      // A failure mid-body leaves the stream unfinished: the client sees a cut-off response.
      if (result.ok()) exchange->stream.finish();
      return;
    }
    if (!result.ok()) {
      const ErrorCode code = result.error().code();
      if (code == ErrorCode::kCancelled) return;
      const int status = code == ErrorCode::kTimeout ? 504 : 502;
      log::warn("proxy to {}: {}", display, result.error().message());
      exchange->responder.respond(net::ServerResponse::error(
          status, fmt::format("the model did not answer: {}", result.error().message())));
      return;
    }
    // A non-2xx answer (the sink never sees those): passed on as it is.
    net::ServerResponse response;
    response.status = result->status;
    for (const auto& [name, value] : result->headers) {
      if (forwarded_response_header(name)) response.headers.add(name, value);
    }
    response.body = std::move(result->body);
    exchange->responder.respond(std::move(response));
  });
}

}  // namespace airlock::manager
