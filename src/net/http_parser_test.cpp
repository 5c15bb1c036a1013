// Request parsing and routing without sockets: what the server accepts, what it refuses and with
// which status, and that feeding bytes in any split gives the same answer.
#include "net/http_parser.h"

#include <gtest/gtest.h>

#include <string>

#include "net/http_router.h"

namespace airlock::net {
namespace {

using namespace std::string_view_literals;

HeadParse parse(std::string_view text, ParserLimits limits = {}) { return parse_request_head(text, limits); }

int error_status(std::string_view text, ParserLimits limits = {}) {
  HeadParse result = parse(text, limits);
  if (result.state != HeadParse::State::kError) return result.state == HeadParse::State::kComplete ? 0 : -1;
  return result.error.status;
}

TEST(HttpParser, ParsesRequestLineHeadersAndQuery) {
  std::string text =
      "POST /v1/embeddings?model=a%20b&x=1 HTTP/1.1\r\nHost: localhost:8000\r\ncontent-TYPE:  application/json \r\n"
      "Content-Length: 12\r\nX-Repeat: 1\r\nX-Repeat: 2\r\n\r\n{\"input\":\"\"}";
  HeadParse result = parse(text);
  ASSERT_EQ(result.state, HeadParse::State::kComplete) << result.error.message;
  const RequestHead& head = result.head;
  EXPECT_EQ(head.method, "POST");
  EXPECT_EQ(head.path, "/v1/embeddings");
  EXPECT_EQ(head.query, "model=a%20b&x=1");
  EXPECT_EQ(head.version_minor, 1);
  EXPECT_EQ(head.headers.get("Content-Type"), "application/json");
  EXPECT_EQ(head.headers.get_all("x-repeat"), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(head.framing, BodyFraming::kContentLength);
  EXPECT_EQ(head.content_length, 12u);
  EXPECT_TRUE(head.keep_alive);
  EXPECT_EQ(result.consumed, text.size() - 12);
  EXPECT_EQ(query_value(head.query, "model"), "a b");
  EXPECT_EQ(query_value("q=a+b%2Bc", "q"), "a b+c");
  EXPECT_EQ(query_value(head.query, "missing"), std::nullopt);
}

TEST(HttpParser, IncompleteUntilTheBlankLineAndResumesScanning) {
  std::string text = "GET /a HTTP/1.1\r\nHost: h\r\nX: y\r\n\r\n";
  std::size_t scanned = 0;
  for (std::size_t n = 0; n < text.size(); ++n) {
    HeadParse partial = parse_request_head(std::string_view(text).substr(0, n), {}, scanned);
    ASSERT_EQ(partial.state, HeadParse::State::kIncomplete) << "at " << n;
    scanned = partial.scanned;
  }
  HeadParse done = parse_request_head(text, {}, scanned);
  ASSERT_EQ(done.state, HeadParse::State::kComplete);
  EXPECT_EQ(done.consumed, text.size());
  EXPECT_EQ(done.head.headers.get("x"), "y");
}

TEST(HttpParser, AcceptsBareLfAndLeadingEmptyLines) {
  HeadParse result = parse("\r\n\nGET / HTTP/1.0\nUser-Agent: t\n\n");
  ASSERT_EQ(result.state, HeadParse::State::kComplete) << result.error.message;
  EXPECT_EQ(result.head.version_minor, 0);
  EXPECT_FALSE(result.head.keep_alive);  // HTTP/1.0 without keep-alive
  EXPECT_TRUE(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").head.keep_alive);
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\n\r\n").head.keep_alive);
}

TEST(HttpParser, TargetsInAbsoluteAndAsteriskForm) {
  HeadParse absolute = parse("GET http://example.com:80/a/b?c=d HTTP/1.1\r\nHost: example.com\r\n\r\n");
  ASSERT_EQ(absolute.state, HeadParse::State::kComplete);
  EXPECT_EQ(absolute.head.path, "/a/b");
  EXPECT_EQ(absolute.head.query, "c=d");
  HeadParse bare = parse("GET https://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n");
  ASSERT_EQ(bare.state, HeadParse::State::kComplete);
  EXPECT_EQ(bare.head.path, "/");
  HeadParse star = parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(star.state, HeadParse::State::kComplete);
  EXPECT_EQ(star.head.path, "*");
  EXPECT_EQ(error_status("GET * HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

TEST(HttpParser, RefusesMalformedRequestsWithTheRightStatus) {
  EXPECT_EQ(error_status("GARBAGE\r\n\r\n"), 400);
  EXPECT_EQ(error_status("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"sv), 400);
  EXPECT_EQ(error_status("GET / HTTP/1.1\r\n\r\n"), 400);                              // no Host
  EXPECT_EQ(error_status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);        // two Hosts
  EXPECT_EQ(error_status("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400);                  // space before colon
  EXPECT_EQ(error_status("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n"), 400);        // obs-fold
  EXPECT_EQ(error_status("GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n"), 400);             // bare CR
  EXPECT_EQ(error_status("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01z\r\n\r\n"), 400);       // control character
  EXPECT_EQ(error_status("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(error_status("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(error_status("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(error_status("GET / HTTX/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(error_status("G@T / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(error_status("GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(error_status("GET /a/%00 HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(error_status("GET /a/../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(error_status("GET /a/%2e%2E/b HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(error_status("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(error_status("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
  EXPECT_EQ(error_status("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
  EXPECT_EQ(error_status("CONNECT example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n"), 501);
  EXPECT_EQ(error_status("GET / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n"), 417);
}

TEST(HttpParser, BodyFramingIsUnambiguous) {
  EXPECT_EQ(error_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"), 400);
  EXPECT_EQ(error_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"), 400);
  EXPECT_EQ(error_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n"), 400);
  EXPECT_EQ(error_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n"), 400);
  EXPECT_EQ(error_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  EXPECT_EQ(error_status("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501);
  EXPECT_EQ(error_status("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"), 400);
  EXPECT_EQ(error_status("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);

  HeadParse same = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n");
  ASSERT_EQ(same.state, HeadParse::State::kComplete);
  EXPECT_EQ(same.head.content_length, 5u);
  HeadParse chunked = parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\nExpect: 100-Continue\r\n\r\n");
  ASSERT_EQ(chunked.state, HeadParse::State::kComplete);
  EXPECT_EQ(chunked.head.framing, BodyFraming::kChunked);
  EXPECT_TRUE(chunked.head.expect_continue);
  // HTTP/1.0 clients do not know 100 Continue.
  EXPECT_FALSE(parse("POST / HTTP/1.0\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n").head.expect_continue);
}

TEST(HttpParser, LimitsGive431) {
  ParserLimits limits;
  limits.max_head_bytes = 1024;
  limits.max_header_count = 10;
  std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(2000, 'x') + "\r\n\r\n";
  EXPECT_EQ(error_status(big, limits), 431);
  // Without the end in sight, the limit is reached as soon as the buffer passes it.
  EXPECT_EQ(error_status(big.substr(0, 1100), limits), 431);
  EXPECT_EQ(error_status(big.substr(0, 900), limits), -1);
  std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 11; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(error_status(many + "\r\n", limits), 431);
  EXPECT_EQ(error_status(std::string(2000, '\n'), limits), 431);
}

std::string decode_all(std::string_view input, std::uint64_t limit, int* status = nullptr, std::size_t* used = nullptr) {
  ChunkedDecoder decoder(limit);
  std::string out;
  auto result = decoder.feed(input, out);
  if (!result.ok()) {
    if (status) *status = decoder.error_status();
    return "<error>";
  }
  if (used) *used = *result;
  if (!decoder.done()) return "<incomplete>";
  return out;
}

TEST(ChunkedDecoder, DecodesExtensionsAndTrailers) {
  std::string body = "5;name=value\r\nhello\r\n7\r\n, world\r\nA \r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nNEXT";
  std::size_t used = 0;
  EXPECT_EQ(decode_all(body, 1000, nullptr, &used), "hello, world0123456789");
  EXPECT_EQ(body.substr(used), "NEXT");

  // Any split of the input decodes the same.
  for (std::size_t piece = 1; piece <= 7; ++piece) {
    ChunkedDecoder decoder(1000);
    std::string out;
    std::size_t offset = 0;
    while (offset < body.size() && !decoder.done()) {
      std::string_view part = std::string_view(body).substr(offset, piece);
      auto taken = decoder.feed(part, out);
      ASSERT_TRUE(taken.ok()) << taken.error().message();
      offset += *taken;
      if (*taken < part.size()) break;
    }
    EXPECT_TRUE(decoder.done());
    EXPECT_EQ(out, "hello, world0123456789");
    EXPECT_EQ(body.substr(offset), "NEXT");
  }
}

TEST(ChunkedDecoder, RefusesMalformedAndOversizedBodies) {
  int status = 0;
  EXPECT_EQ(decode_all("zz\r\n", 100, &status), "<error>");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(decode_all("5\r\nhelloX\r\n0\r\n\r\n", 100, &status), "<error>");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(decode_all("5\nhello\r\n0\r\n\r\n", 100, &status), "<error>");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(decode_all("11111111111111111\r\n", 100, &status), "<error>");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(decode_all("ffffffffffffffff\r\n", 100, &status), "<error>");
  EXPECT_EQ(status, 413);
  EXPECT_EQ(decode_all("40\r\n" + std::string(64, 'a') + "\r\n40\r\n", 100, &status), "<error>");
  EXPECT_EQ(status, 413);
  EXPECT_EQ(decode_all("0\r\nX: " + std::string(5000, 'a') + "\r\n\r\n", 100, &status), "<error>");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(decode_all("5\r\nhel", 100), "<incomplete>");
}

ServerResponse ok_response(const ServerRequest&) { return ServerResponse::text(200, "ok"); }

TEST(Router, MatchesExactParameterAndRestRoutes) {
  Router router;
  ASSERT_TRUE(router.add("GET", "/api/v1/ai-models", SyncHandler(ok_response)).ok());
  ASSERT_TRUE(router.add("GET", "/api/v1/ai-models/{id}", SyncHandler(ok_response)).ok());
  ASSERT_TRUE(router.add("PATCH", "/api/v1/ai-models/{id}", SyncHandler(ok_response)).ok());
  ASSERT_TRUE(router.add("GET", "/api/v1/ai-models/defaults", SyncHandler(ok_response)).ok());
  ASSERT_TRUE(router.add("POST", "/inferenceservices/{id}/{rest*}", SyncHandler(ok_response)).ok());
  ASSERT_TRUE(router.add("GET", "/", SyncHandler(ok_response)).ok());

  RouteMatch list = router.match("GET", "/api/v1/ai-models");
  ASSERT_NE(list.route, nullptr);
  EXPECT_EQ(list.route->pattern, "/api/v1/ai-models");

  RouteMatch one = router.match("GET", "/api/v1/ai-models/abc%2F1");
  ASSERT_NE(one.route, nullptr);
  EXPECT_EQ(one.route->pattern, "/api/v1/ai-models/{id}");
  ASSERT_EQ(one.params.size(), 1u);
  EXPECT_EQ(one.params[0], (std::pair<std::string, std::string>{"id", "abc/1"}));

  RouteMatch literal = router.match("GET", "/api/v1/ai-models/defaults");
  ASSERT_NE(literal.route, nullptr);
  EXPECT_EQ(literal.route->pattern, "/api/v1/ai-models/defaults");  // literal beats {id}

  RouteMatch head = router.match("HEAD", "/api/v1/ai-models/x");
  ASSERT_NE(head.route, nullptr);
  EXPECT_EQ(head.route->method, "GET");

  RouteMatch proxy = router.match("POST", "/inferenceservices/m1/v1/embeddings%3Fx");
  ASSERT_NE(proxy.route, nullptr);
  ASSERT_EQ(proxy.params.size(), 2u);
  EXPECT_EQ(proxy.params[0].second, "m1");
  EXPECT_EQ(proxy.params[1].second, "v1/embeddings%3Fx");
  EXPECT_NE(router.match("POST", "/inferenceservices/m1").route, nullptr);

  RouteMatch wrong_method = router.match("DELETE", "/api/v1/ai-models/x");
  EXPECT_EQ(wrong_method.route, nullptr);
  EXPECT_EQ(wrong_method.allowed, (std::vector<std::string>{"GET", "HEAD", "OPTIONS", "PATCH"}));

  RouteMatch missing = router.match("GET", "/api/v1/ai-models/x/y");
  EXPECT_EQ(missing.route, nullptr);
  EXPECT_TRUE(missing.allowed.empty());
  EXPECT_EQ(router.match("GET", "/api/v1/ai-models/").route, nullptr);  // an empty {id}
  EXPECT_NE(router.match("GET", "/").route, nullptr);
  EXPECT_EQ(router.match("GET", "/api/v1/ai-models/%zz").route, nullptr);
}

TEST(Router, RefusesBadPatterns) {
  Router router;
  EXPECT_FALSE(router.add("GET", "no-slash", SyncHandler(ok_response)).ok());
  EXPECT_FALSE(router.add("GET", "/a/{rest*}/b", SyncHandler(ok_response)).ok());
  EXPECT_FALSE(router.add("GET", "/a/{id}/{id}", SyncHandler(ok_response)).ok());
  EXPECT_FALSE(router.add("GET", "/a/{}", SyncHandler(ok_response)).ok());
  EXPECT_FALSE(router.add("GET", "/a/x{id}", SyncHandler(ok_response)).ok());
  EXPECT_FALSE(router.add("GE T", "/a", SyncHandler(ok_response)).ok());
  EXPECT_FALSE(router.add("GET", "/a", SyncHandler()).ok());
}

TEST(ServerResponse, ErrorBodiesAndCodes) {
  ServerResponse error = ServerResponse::error(413, "too big");
  EXPECT_EQ(error.status, 413);
  EXPECT_EQ(error.headers.get("content-type"), "application/json");
  EXPECT_EQ(error.body, R"({"error":{"code":"content_too_large","message":"too big"}})");
  EXPECT_EQ(error_code_for_http_status(404), "not_found");
  EXPECT_EQ(error_code_for_http_status(431), "request_header_fields_too_large");
  EXPECT_EQ(error_code_for_http_status(599), "http_599");
}

}  // namespace
}  // namespace airlock::net
