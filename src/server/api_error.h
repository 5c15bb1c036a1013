// Errors of the model API in the OpenAI shape, which OpenAI SDKs, LangChain and NIM clients read:
//   {"error": {"message": "...", "type": "invalid_request_error", "param": "input", "code": "..."}}
// One place decides the status, type and code of each kind of failure, so that every route and
// the HTTP server's own answers (404, 413, malformed requests) look the same.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "net/http_exchange.h"

namespace airlock::server {

struct ApiError {
  int status = 400;
  std::string type;  // "invalid_request_error", "authentication_error", ...
  std::string code;  // "invalid_api_key", "model_not_found", ...
  std::string message;
  std::optional<std::string> param;  // the request field at fault
};

ApiError bad_request(std::string message, std::optional<std::string> param = std::nullopt);  // 400
ApiError unauthorized();                                                                     // 401
ApiError model_not_found(std::string_view requested, std::string_view served);              // 404
ApiError route_not_available(std::string message);                                          // 404
ApiError too_large(std::string message, std::optional<std::string> param = std::nullopt);   // 413
ApiError over_length(std::string message);                                                  // 422
ApiError overloaded(std::size_t limit);                                                     // 429
ApiError not_ready(std::string_view phase);                                                 // 503
ApiError shutting_down();                                                                   // 503
ApiError internal(std::string message);                                                     // 500

// An engine or library error as the client should see it: invalid input is the client's (400,
// or 422 for NIM's "Input length <n> exceeds maximum allowed token size <max>"), anything else
// is the server's (500, with the detail only in the log).
ApiError from_error(const Error& error);

std::string error_body(const ApiError& error);
net::ServerResponse error_response(const ApiError& error);
// For HttpServerOptions::error_response: the server's own answers (400, 404, 405, 413, 431, 503).
net::ServerResponse http_error_response(int status, std::string_view message);

}  // namespace airlock::server
