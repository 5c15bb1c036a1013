#include "net/http_exchange.h"

#include <fmt/format.h>

#include <cctype>

#include "net/http_parser.h"
#include "net/http_response.h"

namespace airlock::net {

std::string_view ServerRequest::param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) return value;
  }
  return {};
}

std::optional<std::string> ServerRequest::query_param(std::string_view name) const {
  return query_value(query, name);
}

ServerResponse ServerResponse::json(int status, std::string body) {
  ServerResponse response;
  response.status = status;
  response.headers.set("Content-Type", "application/json");
  response.body = std::move(body);
  return response;
}

ServerResponse ServerResponse::json(int status, const Json& value) { return json(status, dump_json(value)); }

ServerResponse ServerResponse::text(int status, std::string body, std::string content_type) {
  ServerResponse response;
  response.status = status;
  response.headers.set("Content-Type", std::move(content_type));
  response.body = std::move(body);
  return response;
}

ServerResponse ServerResponse::error(int status, std::string_view message) {
  Json body = {{"error", {{"code", error_code_for_http_status(status)}, {"message", std::string(message)}}}};
  return json(status, body);
}

std::string_view server_reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 431:
      return "Request Header Fields Too Large";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return reason_phrase(status);
  }
}

std::string error_code_for_http_status(int status) {
  std::string_view phrase = server_reason_phrase(status);
  if (phrase.empty()) return fmt::format("http_{}", status);
  std::string code;
  for (char c : phrase) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      code += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!code.empty() && code.back() != '_') {
      code += '_';
    }
  }
  return code;
}

namespace detail {

void CancelState::fire() {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (flag_.exchange(true, std::memory_order_acq_rel)) return;
    callbacks.swap(callbacks_);
  }
  for (auto& callback : callbacks) callback();
}

void CancelState::add(std::function<void()> callback) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!flag_.load(std::memory_order_acquire)) {
      callbacks_.push_back(std::move(callback));
      return;
    }
  }
  callback();
}

ExchangeState::~ExchangeState() {
  // Nobody answered: the client must not hang until its own timeout.
  if (!post) return;
  if (phase == Phase::kOpen && cancel && cancel->fired()) {
    post(ExchangeEvent{ExchangeEvent::Kind::kAbandon, {}, {}});
  } else if (phase == Phase::kOpen) {
    post(ExchangeEvent{ExchangeEvent::Kind::kResponse,
                       ServerResponse::error(500, "the request handler finished without a response"), {}});
  } else if (phase == Phase::kStreaming) {
    post(ExchangeEvent{ExchangeEvent::Kind::kStreamAbort, {}, {}});
  }
}

}  // namespace detail

bool Responder::respond(ServerResponse response) {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (state_->phase != detail::ExchangeState::Phase::kOpen) return false;
    state_->phase = detail::ExchangeState::Phase::kResponded;
  }
  state_->post(detail::ExchangeEvent{detail::ExchangeEvent::Kind::kResponse, std::move(response), {}});
  return true;
}

ResponseStream Responder::start_stream(int status, HttpHeaders headers) {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (state_->phase != detail::ExchangeState::Phase::kOpen) return ResponseStream();
    // A HEAD answer is complete with its head: the loop ends it, writes are refused.
    state_->phase = state_->head_request ? detail::ExchangeState::Phase::kDone
                                         : detail::ExchangeState::Phase::kStreaming;
  }
  ServerResponse head;
  head.status = status;
  head.headers = std::move(headers);
  if (state_->head_request) state_->flow->close();
  state_->post(detail::ExchangeEvent{detail::ExchangeEvent::Kind::kStreamHead, std::move(head), {}});
  return ResponseStream(state_);
}

bool Responder::responded() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->phase != detail::ExchangeState::Phase::kOpen;
}

bool ResponseStream::write(std::string_view data) {
  if (!state_) return false;
  if (state_->cancel->fired()) return false;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (state_->phase != detail::ExchangeState::Phase::kStreaming) return false;
  }
  if (data.empty()) return true;  // an empty chunk would end a chunked body
  detail::StreamFlow& flow = *state_->flow;
  {
    std::unique_lock<std::mutex> lock(flow.mutex);
    if (flow.closed) return false;
    flow.posted += data.size();
  }
  state_->post(detail::ExchangeEvent{detail::ExchangeEvent::Kind::kStreamData, {}, std::string(data)});
  std::unique_lock<std::mutex> lock(flow.mutex);
  flow.changed.wait(lock, [&] {
    return flow.closed || state_->cancel->fired() || flow.posted + flow.buffered <= state_->stream_high_water;
  });
  return !flow.closed && !state_->cancel->fired();
}

void ResponseStream::finish() {
  if (!state_) return;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (state_->phase != detail::ExchangeState::Phase::kStreaming) return;
    state_->phase = detail::ExchangeState::Phase::kDone;
  }
  state_->post(detail::ExchangeEvent{detail::ExchangeEvent::Kind::kStreamEnd, {}, {}});
}

}  // namespace airlock::net
