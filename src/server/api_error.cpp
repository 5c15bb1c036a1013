#include "server/api_error.h"

#include <fmt/format.h>

#include "core/json.h"
#include "core/log.h"

namespace airlock::server {

ApiError bad_request(std::string message, std::optional<std::string> param) {
  return {400, "invalid_request_error", "invalid_request", std::move(message), std::move(param)};
}

ApiError unauthorized() {
  return {401, "authentication_error", "invalid_api_key",
          "missing or invalid API key: send \"Authorization: Bearer <key>\" with a key this server accepts",
          std::nullopt};
}

ApiError model_not_found(std::string_view requested, std::string_view served) {
  return {404, "invalid_request_error", "model_not_found",
          fmt::format("The model `{}` does not exist: this server serves `{}` (also `{}-query` and `{}-passage`)",
                      requested, served, served, served),
          std::string("model")};
}

ApiError route_not_available(std::string message) {
  return {404, "invalid_request_error", "not_found", std::move(message), std::nullopt};
}

ApiError too_large(std::string message, std::optional<std::string> param) {
  return {413, "invalid_request_error", "request_too_large", std::move(message), std::move(param)};
}

ApiError over_length(std::string message) {
  return {422, "invalid_request_error", "context_length_exceeded", std::move(message), std::string("input")};
}

ApiError overloaded(std::size_t limit) {
  return {429, "rate_limit_error", "overloaded",
          fmt::format("the server is at its limit of {} concurrent requests: retry shortly", limit), std::nullopt};
}

ApiError not_ready(std::string_view phase) {
  return {503, "service_unavailable", "not_ready", fmt::format("the model is not ready yet ({})", phase), std::nullopt};
}

ApiError shutting_down() {
  return {503, "service_unavailable", "shutting_down", "the server is shutting down", std::nullopt};
}

ApiError internal(std::string message) { return {500, "server_error", "internal_error", std::move(message), std::nullopt}; }

ApiError from_error(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kParse:
      if (error.message().find("exceeds maximum allowed token size") != std::string::npos) {
        return over_length(error.message());
      }
      return bad_request(error.message());
    case ErrorCode::kResourceExhausted: return too_large(error.message());
    case ErrorCode::kCancelled: return {499, "invalid_request_error", "cancelled", "the request was cancelled", std::nullopt};
    default:
      log::error("request failed: {}", error.message());
      return internal("the model failed to process the request (see the server log)");
  }
}

std::string error_body(const ApiError& error) {
  Json body = {{"error",
                {{"message", error.message},
                 {"type", error.type},
                 {"param", error.param ? Json(*error.param) : Json(nullptr)},
                 {"code", error.code}}}};
  return dump_json(body);
}

net::ServerResponse error_response(const ApiError& error) {
  net::ServerResponse response = net::ServerResponse::json(error.status, error_body(error));
  if (error.status == 401) response.headers.set("WWW-Authenticate", "Bearer");
  if (error.status == 429 || error.status == 503) response.headers.set("Retry-After", "1");
  return response;
}

net::ServerResponse http_error_response(int status, std::string_view message) {
  ApiError error;
  error.status = status;
  error.type = status >= 500 ? "server_error" : "invalid_request_error";
  error.code = net::error_code_for_http_status(status);
  error.message = std::string(message);
  return error_response(error);
}

}  // namespace airlock::server
