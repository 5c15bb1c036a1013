// Any bytes as what a client sends to HttpServer: the request-head parser and the chunked body
// decoder must return a request or an error, never crash, hang or read out of bounds; and they
// must give the same answer however the bytes are split across reads, since the network splits
// them arbitrarily.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "net/http_parser.h"
#include "net/http_router.h"

namespace {

using airlock::net::BodyFraming;
using airlock::net::ChunkedDecoder;
using airlock::net::HeadParse;
using airlock::net::ParserLimits;

const airlock::net::Router& router() {
  static const airlock::net::Router instance = [] {
    airlock::net::Router r;
    auto handler = airlock::net::SyncHandler([](const airlock::net::ServerRequest&) { return airlock::net::ServerResponse{}; });
    (void)r.add("GET", "/v1/models", handler);
    (void)r.add("GET", "/api/v1/ai-models/{id}", handler);
    (void)r.add("POST", "/inferenceservices/{id}/{rest*}", handler);
    return r;
  }();
  return instance;
}

void check_head(const airlock::net::RequestHead& head) {
  if (!airlock::net::is_http_token(head.method)) __builtin_trap();
  if (head.path.empty() || (head.path[0] != '/' && head.path != "*")) __builtin_trap();
  for (const auto& [name, value] : head.headers) {
    if (!airlock::net::is_http_token(name)) __builtin_trap();
    if (value.find_first_of("\r\n") != std::string::npos || value.find('\0') != std::string::npos) __builtin_trap();
  }
  if (head.version_minor != 0 && head.version_minor != 1) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  ParserLimits limits;
  limits.max_head_bytes = 2048;
  limits.max_header_count = 24;
  limits.max_chunk_line_bytes = 256;
  HeadParse whole = airlock::net::parse_request_head(input, limits);

  // Fed in pieces whose sizes come from the input itself.
  std::size_t step = size == 0 ? 1 : 1 + data[0] % 13;
  std::size_t scanned = 0;
  HeadParse piecewise;
  for (std::size_t n = 0;; n = std::min(size, n + step)) {
    piecewise = airlock::net::parse_request_head(input.substr(0, n), limits, scanned);
    if (piecewise.state != HeadParse::State::kIncomplete || n == size) break;
    scanned = piecewise.scanned;
  }
  if (piecewise.state == HeadParse::State::kComplete) {
    // Complete on a prefix: the whole input holds the same head.
    if (whole.state != HeadParse::State::kComplete || whole.consumed != piecewise.consumed) __builtin_trap();
    if (whole.head.target != piecewise.head.target || whole.head.headers.size() != piecewise.head.headers.size()) {
      __builtin_trap();
    }
  } else if (piecewise.state == HeadParse::State::kError) {
    if (whole.state != HeadParse::State::kError) __builtin_trap();
  } else if (whole.state != HeadParse::State::kIncomplete) {
    __builtin_trap();
  }
  if (whole.state == HeadParse::State::kError) {
    int status = whole.error.status;
    if (status != 400 && status != 417 && status != 431 && status != 501 && status != 505) __builtin_trap();
    return 0;
  }
  if (whole.state != HeadParse::State::kComplete) return 0;
  if (whole.consumed == 0 || whole.consumed > size) __builtin_trap();
  check_head(whole.head);
  (void)router().match(whole.head.method, whole.head.path);
  (void)airlock::net::query_value(whole.head.query, "model");

  if (whole.head.framing != BodyFraming::kChunked) return 0;
  std::string_view body = input.substr(whole.consumed);
  ChunkedDecoder at_once(4096, limits);
  std::string out_once;
  auto used_once = at_once.feed(body, out_once);
  ChunkedDecoder split(4096, limits);
  std::string out_split;
  std::size_t offset = 0;
  bool failed = false;
  while (offset < body.size() && !split.done()) {
    std::string_view part = body.substr(offset, step);
    auto used = split.feed(part, out_split);
    if (!used.ok()) {
      failed = true;
      break;
    }
    if (*used > part.size()) __builtin_trap();
    offset += *used;
    if (*used < part.size() && !split.done()) __builtin_trap();  // only a finished body stops early
  }
  if (failed != !used_once.ok()) __builtin_trap();
  if (failed) {
    if (at_once.error_status() != split.error_status()) __builtin_trap();
    return 0;
  }
  if (at_once.done() != split.done() || out_once != out_split) __builtin_trap();
  if (at_once.done() && *used_once != offset) __builtin_trap();
  if (out_once.size() > 4096 || at_once.body_bytes() != out_once.size()) __builtin_trap();
  return 0;
}
