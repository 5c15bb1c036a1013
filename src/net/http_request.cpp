#include "net/http_request.h"

#include <string_view>

namespace airlock::net {

std::string ByteRange::header_value() const {
  std::string value = "bytes=" + std::to_string(first) + "-";
  if (last) value += std::to_string(*last);
  return value;
}

HttpRequest HttpRequest::get(std::string url) {
  HttpRequest request;
  request.url = std::move(url);
  return request;
}

HttpRequest HttpRequest::head(std::string url) {
  HttpRequest request;
  request.method = "HEAD";
  request.url = std::move(url);
  return request;
}

HttpRequest HttpRequest::put(std::string url, std::string body) {
  HttpRequest request;
  request.method = "PUT";
  request.url = std::move(url);
  request.body = std::move(body);
  return request;
}

HttpRequest HttpRequest::put(std::string url, BodySource body) {
  HttpRequest request;
  request.method = "PUT";
  request.url = std::move(url);
  request.body = std::move(body);
  return request;
}

HttpRequest HttpRequest::post(std::string url, std::string body, std::string content_type) {
  HttpRequest request;
  request.method = "POST";
  request.url = std::move(url);
  request.body = std::move(body);
  request.headers.set("Content-Type", std::move(content_type));
  return request;
}

std::uint64_t HttpRequest::body_size() const {
  if (const auto* text = std::get_if<std::string>(&body)) return text->size();
  if (const auto* source = std::get_if<BodySource>(&body)) return source->size;
  return 0;
}

bool is_idempotent_method(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" || method == "OPTIONS";
}

}  // namespace airlock::net
