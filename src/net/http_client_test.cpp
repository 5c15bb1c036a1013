#include "net/http_client.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/hash.h"
#include "core/json.h"
#include "core/log.h"
#include "net/http_url.h"
#include "net/retry_policy.h"
#include "testing.h"

namespace airlock::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

// The /bytes pattern of tests/servers/http_test_server.py, computed the same way here.
constexpr std::size_t kPatternPeriod = 65521;

std::string pattern_block(std::uint64_t seed) {
  std::uint64_t x = (seed * 2654435761ULL + 1) & 0xFFFFFFFFULL;
  std::string block(kPatternPeriod, '\0');
  for (std::size_t i = 0; i < kPatternPeriod; ++i) {
    x = (x * 1103515245ULL + 12345ULL) & 0x7FFFFFFFULL;
    block[i] = static_cast<char>((x >> 16) & 0xFF);
  }
  return block;
}

std::string pattern(std::uint64_t seed, std::uint64_t offset, std::uint64_t length) {
  static const std::string block1 = pattern_block(1);
  const std::string block = seed == 1 ? block1 : pattern_block(seed);
  std::string out;
  out.reserve(length);
  while (length > 0) {
    std::size_t start = offset % kPatternPeriod;
    std::size_t take = std::min<std::uint64_t>(length, kPatternPeriod - start);
    out.append(block, start, take);
    offset += take;
    length -= take;
  }
  return out;
}

long elapsed_ms(Clock::time_point since) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - since).count());
}

Json parse_body(const HttpResponse& response) {
  auto parsed = parse_json(response.body, "response");
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message()) << "\n" << response.body;
  return parsed.ok() ? *parsed : Json();
}

// Header value from an /echo reply, or "" when the request did not carry it.
std::string echoed_header(const Json& echo, std::string_view name) {
  for (const auto& entry : echo["headers"]) {
    if (header_name_equals(entry[0].get<std::string>(), name)) return entry[1].get<std::string>();
  }
  return "";
}

bool echoed_has_header(const Json& echo, std::string_view name) {
  for (const auto& entry : echo["headers"]) {
    if (header_name_equals(entry[0].get<std::string>(), name)) return true;
  }
  return false;
}

HttpClientOptions fast_options() {
  HttpClientOptions options;
  options.base_backoff = milliseconds(5);
  options.max_backoff = milliseconds(100);
  options.connect_timeout = milliseconds(5000);
  options.low_speed_time = seconds(20);
  options.max_retries = 3;
  return options;
}

class TestServer {
 public:
  void start(int peer_port = 0, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {"python3",
                                     (airlock::testing::project_root() / "tests/servers/http_test_server.py").string()};
    if (peer_port != 0) {
      argv.push_back("--peer-port");
      argv.push_back(std::to_string(peer_port));
    }
    for (auto& arg : extra) {
      if (arg == "--tls") scheme_ = "https";
      argv.push_back(std::move(arg));
    }
    ASSERT_TRUE(process_.start(argv)) << process_.last_output();
  }
  int port() const { return process_.port(); }
  std::string url(const std::string& path) const { return scheme_ + "://127.0.0.1:" + std::to_string(port()) + path; }

 private:
  airlock::testing::ServerProcess process_;
  std::string scheme_ = "http";
};

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(server_.start()); }

  std::unique_ptr<HttpClient> make_client(HttpClientOptions options = fast_options()) {
    auto client = HttpClient::create(std::move(options));
    EXPECT_TRUE(client.ok()) << client.error().message();
    return std::move(client).value();
  }

  std::string url(const std::string& path) const { return server_.url(path); }

  int server_count(HttpClient& client, const std::string& key) {
    auto response = client.send(HttpRequest::get(url("/count?key=" + key)));
    EXPECT_TRUE(response.ok());
    if (!response.ok()) return -1;
    return parse_body(*response)["count"].get<int>();
  }

  Json last_headers(HttpClient& client, const std::string& key) {
    auto response = client.send(HttpRequest::get(url("/last-headers?key=" + key)));
    EXPECT_TRUE(response.ok());
    return response.ok() ? parse_body(*response) : Json();
  }

  static std::string header_in(const Json& headers_reply, std::string_view name) {
    for (const auto& entry : headers_reply["headers"]) {
      if (header_name_equals(entry[0].get<std::string>(), name)) return entry[1].get<std::string>();
    }
    return "";
  }

  TestServer server_;
};

// A sink that checks every byte against the /bytes pattern as it arrives.
struct CheckingSink {
  std::uint64_t seed = 1;
  std::uint64_t offset = 0;  // resource offset of the next expected byte
  std::uint64_t received = 0;
  int headers_calls = 0;
  int status = 0;
  bool mismatch = false;
  Hasher hasher{HashAlgorithm::kSha256};

  HttpSink sink() {
    HttpSink s;
    s.on_headers = [this](int code, const HttpHeaders&) {
      ++headers_calls;
      status = code;
      return ok_status();
    };
    s.on_data = [this](std::string_view bytes) {
      if (!mismatch && bytes != pattern(seed, offset + received, bytes.size())) mismatch = true;
      hasher.update(bytes);
      received += bytes.size();
      return ok_status();
    };
    return s;
  }
};

// ---------------------------------------------------------------------------------------------
// Pure helpers

TEST(HttpHeadersTest, LookupIsCaseInsensitiveAndKeepsRepeats) {
  HttpHeaders headers{{"Content-Type", "text/plain"}, {"Set-Cookie", "a=1"}};
  headers.add("set-cookie", "b=2");
  EXPECT_EQ(headers.get("content-type"), "text/plain");
  EXPECT_EQ(headers.get("CONTENT-TYPE"), "text/plain");
  EXPECT_EQ(headers.get_all("Set-Cookie"), (std::vector<std::string>{"a=1", "b=2"}));
  EXPECT_FALSE(headers.get("missing").has_value());
  headers.set("SET-COOKIE", "c=3");
  EXPECT_EQ(headers.get_all("set-cookie"), (std::vector<std::string>{"c=3"}));
  EXPECT_EQ(headers.remove("Content-type"), 1u);
  EXPECT_FALSE(headers.contains("content-type"));
  EXPECT_EQ(headers.size(), 1u);
}

TEST(RetryPolicyTest, ParsesRetryAfterSecondsAndDates) {
  auto now = std::chrono::system_clock::from_time_t(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(parse_retry_after("120", now), milliseconds(120000));
  EXPECT_EQ(parse_retry_after(" 0 ", now), milliseconds(0));
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), milliseconds(30000));
  EXPECT_EQ(parse_retry_after("Wednesday, 21-Oct-15 07:29:00 GMT", now), milliseconds(60000));
  EXPECT_EQ(parse_retry_after("Wed Oct 21 07:28:10 2015", now), milliseconds(10000));
  EXPECT_EQ(parse_retry_after("Tue, 20 Oct 2015 07:28:00 GMT", now), milliseconds(0));  // past
  EXPECT_FALSE(parse_retry_after("soon", now).has_value());
  EXPECT_FALSE(parse_retry_after("-5", now).has_value());
  EXPECT_FALSE(parse_retry_after("", now).has_value());
}

TEST(RetryPolicyTest, BackoffIsFullJitterUnderAnExponentialCap) {
  EXPECT_EQ(backoff_delay(0, milliseconds(100), milliseconds(10000), 0.0), milliseconds(0));
  EXPECT_EQ(backoff_delay(0, milliseconds(100), milliseconds(10000), 0.999), milliseconds(99));
  EXPECT_EQ(backoff_delay(3, milliseconds(100), milliseconds(10000), 0.5), milliseconds(400));
  EXPECT_EQ(backoff_delay(10, milliseconds(100), milliseconds(10000), 0.5), milliseconds(5000));
  EXPECT_EQ(backoff_delay(1000, milliseconds(100), milliseconds(10000), 0.999), milliseconds(9990));
}

TEST(RetryPolicyTest, ClassifiesStatuses) {
  for (int status : {429, 500, 502, 503, 504}) EXPECT_TRUE(is_retryable_status(status)) << status;
  for (int status : {200, 400, 401, 403, 404, 409, 416, 501}) EXPECT_FALSE(is_retryable_status(status)) << status;
  for (int status : {301, 302, 303, 307, 308}) EXPECT_TRUE(is_redirect_status(status)) << status;
  EXPECT_FALSE(is_redirect_status(304));
  EXPECT_FALSE(is_redirect_status(300));
}

TEST(RetryPolicyTest, ParsesContentRange) {
  auto range = parse_content_range("bytes 100-199/1000");
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(range->first, 100u);
  EXPECT_EQ(range->last, 199u);
  EXPECT_EQ(range->total, 1000u);
  auto unknown_total = parse_content_range("bytes 0-0/*");
  ASSERT_TRUE(unknown_total.has_value());
  EXPECT_FALSE(unknown_total->total.has_value());
  EXPECT_FALSE(parse_content_range("bytes */1000").has_value());
  EXPECT_FALSE(parse_content_range("bytes 200-100/1000").has_value());
  EXPECT_FALSE(parse_content_range("bytes 0-1000/1000").has_value());
  EXPECT_FALSE(parse_content_range("items 0-1/2").has_value());
}

TEST(HttpUrlTest, ResolvesRedirectLocations) {
  EXPECT_EQ(resolve_url("http://a.example/x/y?q=1", "/z").value(), "http://a.example/z");
  EXPECT_EQ(resolve_url("http://a.example/x/y?q=1", "z?k=v").value(), "http://a.example/x/z?k=v");
  EXPECT_EQ(resolve_url("https://a.example/x/y", "//b.example/p").value(), "https://b.example/p");
  // Absolute locations pass through byte for byte (presigned URLs must not be re-encoded).
  std::string signed_url = "https://b.example/o%2Fk?X-Amz-Signature=ab%2Bcd&x=1";
  EXPECT_EQ(resolve_url("http://a.example/", signed_url).value(), signed_url);
}

TEST(HttpUrlTest, ComparesOriginsWithDefaultPorts) {
  EXPECT_EQ(url_origin("https://Example.COM/a?b"), "https://example.com:443");
  EXPECT_EQ(url_origin("https://example.com:443/x"), url_origin("https://example.com/y"));
  EXPECT_NE(url_origin("http://example.com/x"), url_origin("https://example.com/x"));
  EXPECT_NE(url_origin("http://127.0.0.1:8000/"), url_origin("http://127.0.0.1:8001/"));
  EXPECT_EQ(url_origin("not a url"), "");
}

TEST(HttpUrlTest, DisplayFormHasNoQueryNoUserinfo) {
  EXPECT_EQ(display_url("https://user:pw@bucket.s3.amazonaws.com/key?X-Amz-Signature=abcdef0123456789#frag"),
            "https://bucket.s3.amazonaws.com/key");
  EXPECT_EQ(display_url("http://127.0.0.1:9000/a/b"), "http://127.0.0.1:9000/a/b");
  std::string shown = display_url("garbage://us:secretpass@x/y?sig=abcdefabcdef");
  EXPECT_EQ(shown.find("secretpass"), std::string::npos) << shown;
  EXPECT_EQ(shown.find("abcdefabcdef"), std::string::npos) << shown;
}

TEST(HttpResponseTest, MapsStatusesToErrorCodes) {
  EXPECT_EQ(error_code_for_status(401), ErrorCode::kUnauthenticated);
  EXPECT_EQ(error_code_for_status(403), ErrorCode::kPermissionDenied);
  EXPECT_EQ(error_code_for_status(404), ErrorCode::kNotFound);
  EXPECT_EQ(error_code_for_status(429), ErrorCode::kUnavailable);
  EXPECT_EQ(error_code_for_status(503), ErrorCode::kUnavailable);
  EXPECT_EQ(error_code_for_status(500), ErrorCode::kUnavailable);
  EXPECT_EQ(error_code_for_status(400), ErrorCode::kInvalidArgument);
}

TEST(HttpResponseTest, ErrorMessageHasStatusAttemptsAndARedactedExcerpt) {
  HttpResponse response;
  response.status = 503;
  response.method = "PUT";
  response.url = "https://bucket.example/key?X-Amz-Signature=0123456789abcdef&X-Amz-Credential=AKIAEXAMPLE";
  response.attempts = 5;
  response.body =
      "<Error>\n  <Code>SlowDown</Code>\n  <Message>Reduce your rate</Message>\n"
      "  <Auth>Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig</Auth></Error>" +
      std::string(2000, 'x');
  Error error = http_error(response);
  EXPECT_EQ(error.code(), ErrorCode::kUnavailable);
  const std::string& message = error.message();
  EXPECT_NE(message.find("PUT https://bucket.example/key: HTTP 503 Service Unavailable (after 5 attempts)"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("<Code>SlowDown</Code> <Message>Reduce your rate</Message>"), std::string::npos) << message;
  EXPECT_EQ(message.find("0123456789abcdef"), std::string::npos) << message;
  EXPECT_EQ(message.find("eyJhbGciOiJIUzI1NiJ9"), std::string::npos) << message;
  EXPECT_LT(message.size(), 600u);
  EXPECT_TRUE(require_success(response).error().code() == ErrorCode::kUnavailable);
}

// ---------------------------------------------------------------------------------------------
// Against the local server

TEST_F(HttpClientTest, GetsAWholeObjectWithItsHeaders) {
  auto client = make_client();
  auto response = client->send(HttpRequest::get(url("/bytes/100000?seed=7")));
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->reason, "OK");
  EXPECT_EQ(response->body, pattern(7, 0, 100000));
  EXPECT_EQ(response->headers.get("etag"), "\"bytes-100000-7\"");
  EXPECT_EQ(response->headers.get("CONTENT-LENGTH"), "100000");
  EXPECT_EQ(response->attempts, 1);
  EXPECT_EQ(response->body_bytes, 100000u);
}

TEST_F(HttpClientTest, RequestsByteRanges) {
  auto client = make_client();
  HttpRequest middle = HttpRequest::get(url("/bytes/1000000"));
  middle.range = ByteRange{100, 199};
  auto response = client->send(middle);
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 206);
  EXPECT_EQ(response->body, pattern(1, 100, 100));
  EXPECT_EQ(response->headers.get("content-range"), "bytes 100-199/1000000");

  HttpRequest tail = HttpRequest::get(url("/bytes/1000000"));
  tail.range = ByteRange{999000, std::nullopt};
  response = client->send(tail);
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 206);
  EXPECT_EQ(response->body, pattern(1, 999000, 1000));

  HttpRequest beyond = HttpRequest::get(url("/bytes/1000"));
  beyond.range = ByteRange{5000, std::nullopt};
  response = client->send(beyond);
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 416);
  EXPECT_EQ(response->attempts, 1);

  response = client->send(HttpRequest::head(url("/bytes/123456")));
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers.get("content-length"), "123456");
  EXPECT_TRUE(response->body.empty());
}

TEST_F(HttpClientTest, StreamsA64MiBBodyIntoASink) {
  constexpr std::uint64_t kSize = 64ULL << 20;
  auto client = make_client();
  CheckingSink check;
  check.seed = 3;
  auto response = client->send(HttpRequest::get(url("/bytes/" + std::to_string(kSize) + "?seed=3")), check.sink());
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(response->body.empty());
  EXPECT_EQ(response->body_bytes, kSize);
  EXPECT_EQ(check.headers_calls, 1);
  EXPECT_EQ(check.received, kSize);
  EXPECT_FALSE(check.mismatch);
  Hasher expected(HashAlgorithm::kSha256);
  for (std::uint64_t offset = 0; offset < kSize; offset += 4 << 20) expected.update(pattern(3, offset, 4 << 20));
  EXPECT_EQ(check.hasher.finish_hex(), expected.finish_hex());
}

TEST_F(HttpClientTest, SinkErrorAbortsTheTransferAndIsReturnedAsIs) {
  auto client = make_client();
  int chunks = 0;
  HttpSink sink;
  sink.on_data = [&](std::string_view) -> Status {
    ++chunks;
    return Error(ErrorCode::kResourceExhausted, "disk full while writing blob x");
  };
  auto response = client->send(HttpRequest::get(url("/bytes/10000000?key=sinkerr")), sink);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(response.error().message(), "disk full while writing blob x");
  EXPECT_EQ(chunks, 1);
  EXPECT_EQ(server_count(*client, "sinkerr"), 1);  // not retried

  // on_headers may refuse the response before any byte.
  HttpSink picky;
  picky.on_headers = [](int, const HttpHeaders&) -> Status { return invalid_argument("wrong content type"); };
  picky.on_data = [&](std::string_view) -> Status {
    ADD_FAILURE() << "data after a refused on_headers";
    return ok_status();
  };
  response = client->send(HttpRequest::get(url("/bytes/1000")), picky);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().message(), "wrong content type");
}

TEST_F(HttpClientTest, SendAllRunsInParallelOverFewReusedConnections) {
  HttpClientOptions options = fast_options();
  options.max_transfers_per_host = 4;
  auto client = make_client(options);
  std::vector<HttpRequest> requests;
  requests.reserve(50);
  for (int i = 0; i < 50; ++i) requests.push_back(HttpRequest::get(url("/echo?i=" + std::to_string(i))));
  auto results = client->send_all(std::move(requests));
  ASSERT_EQ(results.size(), 50u);
  std::set<std::string> connections;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].error().message();
    EXPECT_EQ(results[i]->status, 200);
    EXPECT_EQ(parse_body(*results[i])["query"], "i=" + std::to_string(i));  // results in request order
    connections.insert(results[i]->headers.get("x-connection-id").value_or("?"));
  }
  EXPECT_GE(connections.size(), 1u);
  EXPECT_LE(connections.size(), 4u) << "50 requests should reuse at most 4 connections";
}

TEST_F(HttpClientTest, TwoEventLoopsShareTheirConnections) {
  HttpClientOptions options = fast_options();
  options.event_loops = 2;
  options.max_transfers_per_host = 3;
  auto client = make_client(options);
  std::vector<HttpRequest> requests;
  requests.reserve(60);
  for (int i = 0; i < 60; ++i)
    requests.push_back(HttpRequest::get(url("/bytes/20000?seed=" + std::to_string(i % 5 + 1))));
  auto results = client->send_all(std::move(requests));
  std::set<std::string> connections;
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].error().message();
    EXPECT_EQ(results[i]->body, pattern(i % 5 + 1, 0, 20000));
    connections.insert(results[i]->headers.get("x-connection-id").value_or("?"));
  }
  // Three slots for the host across both loops; the shared pool keeps it to three connections.
  EXPECT_LE(connections.size(), 3u);
}

TEST_F(HttpClientTest, SubmitCompletesOnACallbackThatMaySubmitMore) {
  auto client = make_client();
  std::promise<std::string> chained;
  client->submit(HttpRequest::get(url("/echo?step=1")), {}, [&](const Result<HttpResponse>& first) {
    if (!first.ok()) {
      chained.set_value("first failed: " + first.error().message());
      return;
    }
    // A blocking send() here would wait for this very thread: it is refused.
    auto blocked = client->send(HttpRequest::get(url("/echo")));
    if (blocked.ok() || blocked.error().code() != ErrorCode::kInternal) {
      chained.set_value("send() from a callback was not refused");
      return;
    }
    client->submit(HttpRequest::get(url("/echo?step=2")), {}, [&](const Result<HttpResponse>& second) {
      chained.set_value(second.ok() ? parse_body(*second)["query"].get<std::string>() : second.error().message());
    });
  });
  auto future = chained.get_future();
  ASSERT_EQ(future.wait_for(seconds(30)), std::future_status::ready);
  EXPECT_EQ(future.get(), "step=2");

  auto pending = client->submit(HttpRequest::get(url("/bytes/10")));
  auto result = pending.get();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->body, pattern(1, 0, 10));
}

TEST_F(HttpClientTest, RetriesServerErrorsUntilTheySucceed) {
  auto client = make_client();
  auto response = client->send(HttpRequest::get(url("/fail?key=r500&times=2&status=500")));
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->attempts, 3);
  EXPECT_EQ(parse_body(*response)["count"], 3);
  EXPECT_EQ(server_count(*client, "r500"), 3);

  response = client->send(HttpRequest::get(url("/fail?key=r502&times=1&status=502")));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->attempts, 2);
}

TEST_F(HttpClientTest, HonoursRetryAfterInSeconds) {
  auto client = make_client();
  auto start = Clock::now();
  auto response = client->send(HttpRequest::get(url("/fail?key=ra&times=1&status=503&retry_after=1")));
  long took = elapsed_ms(start);
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->attempts, 2);
  EXPECT_GE(took, 950) << "Retry-After: 1 was not waited for";
  EXPECT_LT(took, 10000);
}

TEST_F(HttpClientTest, HonoursRetryAfterAsAnHttpDate) {
  auto client = make_client();
  auto start = Clock::now();
  // now + 2 s, written with one-second resolution: the wait is between 1 and 2 seconds.
  auto response = client->send(HttpRequest::get(url("/fail?key=rad&times=1&status=429&retry_after_date=2")));
  long took = elapsed_ms(start);
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_GE(took, 900);
  EXPECT_LT(took, 10000);
}

TEST_F(HttpClientTest, CapsRetryAfter) {
  HttpClientOptions options = fast_options();
  options.max_retry_after = milliseconds(300);
  auto client = make_client(options);
  auto start = Clock::now();
  auto response = client->send(HttpRequest::get(url("/fail?key=cap&times=1&status=503&retry_after=3600")));
  long took = elapsed_ms(start);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 200);
  EXPECT_GE(took, 250);
  EXPECT_LT(took, 5000);
}

TEST_F(HttpClientTest, GivesUpAfterMaxAttemptsWithUnavailable) {
  HttpClientOptions options = fast_options();
  options.max_retries = 2;
  auto client = make_client(options);
  auto response = client->send(HttpRequest::get(url("/fail?key=busy&times=100&status=503")));
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->attempts, 3);
  EXPECT_EQ(server_count(*client, "busy"), 3);
  auto failed = require_success(std::move(response));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(failed.error().message().find("HTTP 503 Service Unavailable (after 3 attempts)"), std::string::npos)
      << failed.error().message();
  EXPECT_NE(failed.error().message().find("try again, attempt 3"), std::string::npos) << failed.error().message();

  HttpRequest throttled = HttpRequest::get(url("/fail?key=slowdown&times=100&status=429"));
  throttled.options.max_retries = 1;
  auto limited = require_success(client->send(throttled));
  ASSERT_FALSE(limited.ok());
  EXPECT_EQ(limited.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(server_count(*client, "slowdown"), 2);
}

TEST_F(HttpClientTest, ClientErrorsAreNotRetriedAndMapToCodes) {
  auto client = make_client();
  struct Case {
    int status;
    ErrorCode code;
    std::string excerpt;
  };
  for (const Case& c :
       {Case{401, ErrorCode::kUnauthenticated, "lacks valid credentials"},
        Case{403, ErrorCode::kPermissionDenied, "is denied"}, Case{404, ErrorCode::kNotFound, "does not exist"}}) {
    auto response = client->send(HttpRequest::get(url("/status/" + std::to_string(c.status) + "?key=s")));
    ASSERT_TRUE(response.ok()) << response.error().message();
    EXPECT_EQ(response->status, c.status);
    EXPECT_EQ(response->attempts, 1);
    Error error = http_error(*response);
    EXPECT_EQ(error.code(), c.code) << error.message();
    EXPECT_NE(error.message().find(c.excerpt), std::string::npos) << error.message();
    EXPECT_NE(error.message().find("GET http://127.0.0.1:" + std::to_string(server_.port()) + "/status/"),
              std::string::npos)
        << error.message();
  }
  EXPECT_EQ(server_count(*client, "s"), 0);  // /status does not count; just make sure the key is unused
}

TEST_F(HttpClientTest, RetriesAConnectionDroppedBeforeTheResponse) {
  auto client = make_client();
  auto response = client->send(HttpRequest::get(url("/drop?key=dropget&times=2")));
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->attempts, 3);

  // A POST that may have reached the server is not sent twice. (A fresh client: on a reused
  // connection curl itself resends once, as the server may just have closed an idle connection.)
  client = make_client();
  auto post = client->send(HttpRequest::post(url("/drop?key=droppost&times=1"), "{}", "application/json"));
  ASSERT_FALSE(post.ok());
  EXPECT_EQ(post.error().code(), ErrorCode::kNetwork);
  EXPECT_EQ(server_count(*client, "droppost"), 1);

  // ... unless the caller says it is safe.
  HttpRequest safe = HttpRequest::post(url("/drop?key=droppost2&times=1"), "{}", "application/json");
  safe.options.idempotent = true;
  auto retried = client->send(safe);
  ASSERT_TRUE(retried.ok()) << retried.error().message();
  EXPECT_EQ(retried->status, 200);
}

TEST_F(HttpClientTest, ConnectionRefusedIsANetworkErrorAfterRetries) {
  HttpClientOptions options = fast_options();
  options.max_retries = 2;
  auto client = make_client(options);
  int port = airlock::testing::free_port();
  auto response =
      client->send(HttpRequest::get("http://127.0.0.1:" + std::to_string(port) + "/x?sig=0123456789abcdef"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kNetwork);
  EXPECT_NE(response.error().message().find("(after 3 attempts)"), std::string::npos) << response.error().message();
  EXPECT_EQ(response.error().message().find("0123456789abcdef"), std::string::npos) << response.error().message();
}

TEST_F(HttpClientTest, ResumesABrokenDownloadWithoutTheSinkSeeingARestart) {
  auto client = make_client();
  constexpr std::uint64_t kSize = 3000000;
  CheckingSink check;
  auto response = client->send(
      HttpRequest::get(url("/bytes/3000000?key=resume&drop_after=1000000&drop_times=2&drop_mode=fin")), check.sink());
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->resumes, 2);
  EXPECT_EQ(response->attempts, 3);
  EXPECT_EQ(check.headers_calls, 1);
  EXPECT_EQ(check.status, 200);
  EXPECT_EQ(check.received, kSize);
  EXPECT_FALSE(check.mismatch);
  EXPECT_EQ(server_count(*client, "resume"), 3);
  Json last = last_headers(*client, "resume");
  EXPECT_EQ(header_in(last, "Range"), "bytes=2000000-2999999");
  EXPECT_EQ(header_in(last, "If-Range"), "\"bytes-3000000-1\"");
}

TEST_F(HttpClientTest, ResumesAfterAResetIntoABufferedBody) {
  auto client = make_client();
  auto response = client->send(HttpRequest::get(url("/bytes/2000000?key=rst&drop_after=700000&drop_mode=rst")));
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->resumes, 1);
  EXPECT_EQ(response->body.size(), 2000000u);
  EXPECT_TRUE(response->body == pattern(1, 0, 2000000));
}

TEST_F(HttpClientTest, ResumesARangedRequestWithinItsRange) {
  auto client = make_client();
  HttpRequest request = HttpRequest::get(url("/bytes/2000000?key=rr&drop_after=300000"));
  request.range = ByteRange{500000, 1499999};
  CheckingSink check;
  check.offset = 500000;
  auto response = client->send(request, check.sink());
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 206);
  EXPECT_EQ(response->resumes, 1);
  EXPECT_EQ(check.received, 1000000u);
  EXPECT_FALSE(check.mismatch);
  EXPECT_EQ(header_in(last_headers(*client, "rr"), "Range"), "bytes=800000-1499999");
}

TEST_F(HttpClientTest, ResumesAChunkedBodyOfUnknownLength) {
  auto client = make_client();
  CheckingSink check;
  auto response =
      client->send(HttpRequest::get(url("/bytes/1500000?key=chunk&no_length=1&drop_after=400000")), check.sink());
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->resumes, 1);
  EXPECT_EQ(check.received, 1500000u);
  EXPECT_FALSE(check.mismatch);
  EXPECT_EQ(check.headers_calls, 1);
}

TEST_F(HttpClientTest, RefusesAResumeAnsweredWith200) {
  auto client = make_client();
  CheckingSink check;
  auto response =
      client->send(HttpRequest::get(url("/bytes/1000000?key=full&drop_after=250000&ignore_range=1")), check.sink());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kNetwork);
  const std::string& message = response.error().message();
  EXPECT_NE(message.find("200 OK instead of 206 Partial Content"), std::string::npos) << message;
  EXPECT_NE(message.find("after 250000 bytes"), std::string::npos) << message;
  // The sink has exactly the first 250000 bytes: nothing repeated from the new 200 body.
  EXPECT_EQ(check.received, 250000u);
  EXPECT_FALSE(check.mismatch);
  EXPECT_EQ(check.headers_calls, 1);
}

TEST_F(HttpClientTest, RefusesAResumeWhenTheObjectChanged) {
  auto client = make_client();
  std::string received;
  HttpSink sink;
  sink.on_data = [&](std::string_view bytes) {
    received.append(bytes);
    return ok_status();
  };
  auto response =
      client->send(HttpRequest::get(url("/bytes/1000000?key=changed&drop_after=100000&etag_changes=1")), sink);
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.error().message().find("instead of 206"), std::string::npos) << response.error().message();
  EXPECT_EQ(received.size(), 100000u);
  EXPECT_EQ(header_in(last_headers(*client, "changed"), "If-Range"), "\"bytes-1000000-1-v1\"");
}

TEST_F(HttpClientTest, RefusesAResumeFromTheWrongOffset) {
  auto client = make_client();
  CheckingSink check;
  auto response =
      client->send(HttpRequest::get(url("/bytes/1000000?key=shift&drop_after=200000&range_shift=100")), check.sink());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kNetwork);
  EXPECT_NE(response.error().message().find("the server sent bytes from 199900 instead of 200000"), std::string::npos)
      << response.error().message();
  EXPECT_EQ(check.received, 200000u);
  EXPECT_FALSE(check.mismatch);
}

TEST_F(HttpClientTest, ResumeCanBeTurnedOff) {
  auto client = make_client();
  HttpRequest request = HttpRequest::get(url("/bytes/1000000?key=noresume&drop_after=1000"));
  request.options.resume = false;
  auto response = client->send(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kNetwork);
  EXPECT_NE(response.error().message().find("after 1000 bytes of the body"), std::string::npos)
      << response.error().message();
  EXPECT_EQ(server_count(*client, "noresume"), 1);
}

TEST_F(HttpClientTest, SameOriginRedirectKeepsCredentials) {
  auto client = make_client();
  HttpRequest request = HttpRequest::get(url("/redirect?to=/echo%3Fafter%3D1"));
  request.headers.add("Authorization", "Bearer same-origin-token-123");
  request.headers.add("x-amz-security-token", "session-token-456789");
  request.sensitive_headers = {"x-amz-security-token"};
  auto response = client->send(request);
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->redirects, 1);
  EXPECT_EQ(response->url, url("/echo?after=1"));
  Json echo = parse_body(*response);
  EXPECT_EQ(echo["query"], "after=1");
  EXPECT_EQ(echoed_header(echo, "Authorization"), "Bearer same-origin-token-123");
  EXPECT_EQ(echoed_header(echo, "x-amz-security-token"), "session-token-456789");

  // Relative to the current path, too.
  response = client->send(HttpRequest::get(url("/redirect?to=echo")));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(parse_body(*response)["path"], "/echo");
}

TEST_F(HttpClientTest, CrossOriginRedirectDropsCredentials) {
  TestServer other;
  ASSERT_NO_FATAL_FAILURE(other.start());
  TestServer peered;
  ASSERT_NO_FATAL_FAILURE(peered.start(other.port()));
  auto client = make_client();
  for (const std::string& start :
       {url("/redirect?status=307&to=" + other.url("/echo")), peered.url("/redirect?status=302&peer_path=/echo")}) {
    HttpRequest request = HttpRequest::get(start);
    request.headers.add("Authorization", "Bearer cross-origin-secret-999");
    request.headers.add("x-amz-security-token", "session-token-456789");
    request.headers.add("Cookie", "session=abcdef123456");
    request.headers.add("X-Custom", "kept");
    request.sensitive_headers = {"x-amz-security-token"};
    auto response = client->send(request);
    ASSERT_TRUE(response.ok()) << response.error().message();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->url, other.url("/echo"));
    Json echo = parse_body(*response);
    EXPECT_FALSE(echoed_has_header(echo, "Authorization")) << echo.dump();
    EXPECT_FALSE(echoed_has_header(echo, "x-amz-security-token")) << echo.dump();
    EXPECT_FALSE(echoed_has_header(echo, "Cookie")) << echo.dump();
    EXPECT_EQ(echoed_header(echo, "X-Custom"), "kept");
  }
}

TEST_F(HttpClientTest, RedirectMethodRules) {
  auto client = make_client();
  // 303: the next request is a GET without the body.
  auto response = client->send(HttpRequest::post(url("/redirect?status=303&to=/echo"), "payload", "text/plain"));
  ASSERT_TRUE(response.ok()) << response.error().message();
  Json echo = parse_body(*response);
  EXPECT_EQ(echo["method"], "GET");
  EXPECT_EQ(echo["body_length"], 0);
  EXPECT_FALSE(echoed_has_header(echo, "Content-Type"));
  EXPECT_EQ(response->method, "GET");

  // 307 and 308 keep the method and send the body again.
  std::string body = pattern(2, 0, 300000);
  for (int status : {307, 308}) {
    response = client->send(HttpRequest::put(url("/redirect?status=" + std::to_string(status) + "&to=/echo"), body));
    ASSERT_TRUE(response.ok()) << response.error().message();
    echo = parse_body(*response);
    EXPECT_EQ(echo["method"], "PUT");
    EXPECT_EQ(echo["body_sha256"], sha256_hex(body));
  }

  HttpRequest limited = HttpRequest::get(url("/redirect-chain/10"));
  limited.options.max_redirects = 3;
  auto too_many = client->send(limited);
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.error().message().find("more than 3 redirects"), std::string::npos) << too_many.error().message();

  HttpRequest manual = HttpRequest::get(url("/redirect?to=/echo"));
  manual.options.follow_redirects = false;
  response = client->send(manual);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 302);
  EXPECT_EQ(response->headers.get("location"), "/echo");

  auto refused = client->send(HttpRequest::get(url("/redirect?to=file:///etc/passwd")));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("redirect to a file URL refused"), std::string::npos)
      << refused.error().message();
}

TEST_F(HttpClientTest, StreamsAnUploadBodyFromASource) {
  auto client = make_client();
  constexpr std::uint64_t kSize = 8ULL << 20;
  std::atomic<int> reads{0};
  BodySource source;
  source.size = kSize;
  source.read = [&](std::uint64_t offset, std::span<char> buffer) -> Result<std::size_t> {
    ++reads;
    std::size_t n = std::min<std::uint64_t>(buffer.size(), kSize - offset);
    std::string bytes = pattern(5, offset, n);
    std::copy(bytes.begin(), bytes.end(), buffer.begin());
    return n;
  };
  auto response = client->send(HttpRequest::put(url("/echo"), source));
  ASSERT_TRUE(response.ok()) << response.error().message();
  Json echo = parse_body(*response);
  EXPECT_EQ(echo["method"], "PUT");
  EXPECT_EQ(echo["body_length"], kSize);
  EXPECT_EQ(echoed_header(echo, "Content-Length"), std::to_string(kSize));
  EXPECT_FALSE(echoed_has_header(echo, "Expect"));
  EXPECT_EQ(echo["body_sha256"], sha256_hex(pattern(5, 0, kSize)));
  EXPECT_GT(reads.load(), 1);

  // A retried upload reads the body again from the start.
  response = client->send(HttpRequest::put(url("/drop?key=putdrop&times=1"), source));
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->attempts, 2);

  // An empty PUT still says Content-Length: 0; a custom method carries its body.
  response = client->send(HttpRequest::put(url("/echo"), std::string()));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(echoed_header(parse_body(*response), "Content-Length"), "0");
  HttpRequest patch;
  patch.method = "PATCH";
  patch.url = url("/echo");
  patch.body = std::string("patched");
  response = client->send(patch);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(parse_body(*response)["method"], "PATCH");
  EXPECT_EQ(parse_body(*response)["body"], "patched");
}

TEST_F(HttpClientTest, BodySourceErrorIsReturnedAsIs) {
  auto client = make_client();
  BodySource source;
  source.size = 1 << 20;
  source.read = [](std::uint64_t offset, std::span<char> buffer) -> Result<std::size_t> {
    if (offset > 0) return io_error("reading /cache/blob: Input/output error");
    std::fill(buffer.begin(), buffer.end(), 'a');
    return buffer.size();
  };
  auto response = client->send(HttpRequest::put(url("/echo"), source));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kIo);
  EXPECT_EQ(response.error().message(), "reading /cache/blob: Input/output error");
}

TEST_F(HttpClientTest, LowSpeedIsATimeout) {
  HttpClientOptions options = fast_options();
  options.low_speed_limit = 1000;
  options.low_speed_time = seconds(1);
  options.max_retries = 0;
  auto client = make_client(options);
  auto start = Clock::now();
  auto response = client->send(HttpRequest::get(url("/slow?bytes=100000&rate=50")));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kTimeout) << response.error().message();
  EXPECT_LT(elapsed_ms(start), 8000);

  // A stall mid-body is resumed; when the server cannot continue it, the error is still the stall.
  HttpRequest resumable = HttpRequest::get(url("/slow?bytes=100000&rate=50"));
  resumable.options.max_retries = 1;
  response = client->send(resumable);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kTimeout) << response.error().message();
  EXPECT_NE(response.error().message().find("resuming failed"), std::string::npos) << response.error().message();

  // A server that never answers is a stall too, retried as a connection failure.
  HttpRequest stalled = HttpRequest::get(url("/stall?seconds=6"));
  stalled.options.max_retries = 1;
  start = Clock::now();
  response = client->send(stalled);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kTimeout);
  EXPECT_NE(response.error().message().find("(after 2 attempts)"), std::string::npos) << response.error().message();
  EXPECT_LT(elapsed_ms(start), 10000);
}

TEST_F(HttpClientTest, TotalTimeoutBoundsRetries) {
  auto client = make_client();
  HttpRequest request = HttpRequest::get(url("/fail?key=deadline&times=100&status=503&retry_after=1"));
  request.options.max_retries = 50;
  request.options.total_timeout = milliseconds(1500);
  auto start = Clock::now();
  auto response = client->send(request);
  long took = elapsed_ms(start);
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 503);
  EXPECT_LE(response->attempts, 3);
  EXPECT_LT(took, 4000);

  HttpRequest slow = HttpRequest::get(url("/stall?seconds=5"));
  slow.options.total_timeout = milliseconds(700);
  start = Clock::now();
  auto timed_out = client->send(slow);
  ASSERT_FALSE(timed_out.ok());
  EXPECT_EQ(timed_out.error().code(), ErrorCode::kTimeout);
  EXPECT_LT(elapsed_ms(start), 3000);
}

TEST_F(HttpClientTest, CancelAbortsAnActiveOrWaitingRequest) {
  auto client = make_client();
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  HttpRequest slow = HttpRequest::get(url("/slow?bytes=100000&rate=1000"));
  slow.options.cancel = cancel;
  HttpRequest waiting = HttpRequest::get(url("/fail?key=cancelwait&times=100&retry_after=30"));
  waiting.options.cancel = cancel;
  auto first = client->submit(slow);
  auto second = client->submit(waiting);
  std::this_thread::sleep_for(milliseconds(500));
  cancel->store(true);
  auto start = Clock::now();
  auto r1 = first.get();
  auto r2 = second.get();
  EXPECT_LT(elapsed_ms(start), 3000);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.error().code(), ErrorCode::kCancelled);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code(), ErrorCode::kCancelled);
}

TEST_F(HttpClientTest, SignerRunsBeforeEveryAttemptButNeverOffOrigin) {
  TestServer other;
  ASSERT_NO_FATAL_FAILURE(other.start());
  auto client = make_client();
  std::atomic<int> calls{0};
  auto signer = [&](OutgoingRequest& out) -> Status {
    int n = ++calls;
    out.headers.set("Authorization",
                    "Signed attempt-" + std::to_string(n) + " range=" + out.headers.get("Range").value_or("-"));
    return ok_status();
  };

  HttpRequest retried = HttpRequest::get(url("/fail?key=signed&times=1"));
  retried.signer = signer;
  auto response = client->send(retried);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(header_in(last_headers(*client, "signed"), "Authorization"), "Signed attempt-2 range=-");

  // A resume is signed with its Range in place.
  calls = 0;
  HttpRequest resumed = HttpRequest::get(url("/bytes/500000?key=signedresume&drop_after=1000"));
  resumed.signer = signer;
  response = client->send(resumed);
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(header_in(last_headers(*client, "signedresume"), "Authorization"),
            "Signed attempt-2 range=bytes=1000-499999");

  calls = 0;
  HttpRequest redirected = HttpRequest::get(url("/redirect?to=" + other.url("/echo")));
  redirected.signer = signer;
  response = client->send(redirected);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(calls.load(), 1);
  EXPECT_FALSE(echoed_has_header(parse_body(*response), "Authorization"));

  HttpRequest refused = HttpRequest::get(url("/echo"));
  refused.signer = [](OutgoingRequest&) -> Status {
    return Error(ErrorCode::kUnauthenticated, "no credentials for s3");
  };
  response = client->send(refused);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(response.error().message(), "no credentials for s3");
}

// Points stderr at a file for the life of the object, so that log lines can be inspected.
class CapturedStderr {
 public:
  explicit CapturedStderr(std::string path) : path_(std::move(path)) {
    (void)std::fflush(stderr);
    saved_ = ::dup(2);
    int fd = ::open(path_.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
    ::dup2(fd, 2);
    ::close(fd);
  }
  ~CapturedStderr() { restore(); }
  std::string finish() {
    restore();
    return airlock::testing::read_text(path_);
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    (void)std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }
  std::string path_;
  int saved_ = -1;
};

TEST_F(HttpClientTest, SecretsNeverReachErrorsOrLogs) {
  const std::string token = "tok-9f8e7d6c5b4a39281706";
  const std::string signature = "5f1e2d3c4b5a69788796a5b4c3d2e1f0";
  airlock::testing::TempDir dir;
  log::configure(log::Level::kDebug, log::Format::kText);
  CapturedStderr captured((dir / "stderr.log").string());
  std::vector<std::string> messages;
  {
    HttpClientOptions options = fast_options();
    options.max_retries = 1;
    auto client = make_client(options);
    auto with_secrets = [&](const std::string& path) {
      HttpRequest request =
          HttpRequest::get(url(path + (path.find('?') == std::string::npos ? "?" : "&") +
                               "X-Amz-Signature=" + signature + "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE"));
      request.headers.add("Authorization", "Bearer " + token);
      return request;
    };
    // The server copies Authorization into its error document.
    auto response = client->send(with_secrets("/status/403?echo_auth=1"));
    ASSERT_TRUE(response.ok());
    EXPECT_EQ(response->body.find(token), std::string::npos) << response->body;
    messages.push_back(http_error(*response).message());
    EXPECT_NE(messages.back().find("you sent Authorization"), std::string::npos) << messages.back();
    // Retried statuses, resumes and redirects write debug lines.
    messages.push_back(http_error(*client->send(with_secrets("/fail?key=sec&times=100&status=503"))).message());
    auto resumed = client->send(with_secrets("/bytes/100000?key=secresume&drop_after=10"));
    ASSERT_TRUE(resumed.ok());
    EXPECT_EQ(resumed->resumes, 1);
    auto refused = client->send(with_secrets("/bytes/100000?key=secrefused&drop_after=10&ignore_range=1"));
    ASSERT_FALSE(refused.ok());
    messages.push_back(refused.error().message());
    ASSERT_TRUE(client->send(with_secrets("/redirect?to=/echo")).ok());
    auto unreachable = HttpRequest::get("http://127.0.0.1:" + std::to_string(airlock::testing::free_port()) +
                                        "/k?X-Amz-Signature=" + signature);
    unreachable.headers.add("Authorization", "Bearer " + token);
    auto refused_connection = client->send(unreachable);
    ASSERT_FALSE(refused_connection.ok());
    messages.push_back(refused_connection.error().message());
  }
  std::string log_text = captured.finish();
  log::configure(log::Level::kInfo, log::Format::kText);
  EXPECT_NE(log_text.find("retrying GET"), std::string::npos) << log_text;
  EXPECT_NE(log_text.find("resuming GET"), std::string::npos) << log_text;
  for (const std::string& text : messages) {
    EXPECT_EQ(text.find(token), std::string::npos) << text;
    EXPECT_EQ(text.find(signature), std::string::npos) << text;
  }
  EXPECT_EQ(log_text.find(token), std::string::npos) << log_text;
  EXPECT_EQ(log_text.find(signature), std::string::npos) << log_text;
}

// Sets or unsets environment variables for the life of the object.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> values) {
    for (const auto& [name, value] : values) {
      const char* old = std::getenv(name);
      saved_.push_back({name, old ? std::optional<std::string>(old) : std::nullopt});
      if (value) {
        ::setenv(name, value, 1);
      } else {
        ::unsetenv(name);
      }
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST(HttpClientTlsTest, VerifiesCertificatesAgainstTheConfiguredTrust) {
  airlock::testing::TempDir dir;
  const std::string ca = (dir / "ca.pem").string();
  TestServer server;
  ASSERT_NO_FATAL_FAILURE(server.start(0, {"--tls", "--write-ca", ca}));
  ScopedEnv clean(
      {{"SSL_CERT_FILE", nullptr}, {"SSL_CERT_DIR", nullptr}, {"https_proxy", nullptr}, {"HTTPS_PROXY", nullptr}});

  // Default trust (the system's) does not include the test CA: refused, and not retried.
  {
    auto client = HttpClient::create(fast_options()).value();
    auto response = client->send(HttpRequest::get(server.url("/echo")));
    ASSERT_FALSE(response.ok());
    EXPECT_EQ(response.error().code(), ErrorCode::kNetwork);
    EXPECT_NE(response.error().message().find("certificate"), std::string::npos) << response.error().message();
    EXPECT_EQ(response.error().message().find("attempts"), std::string::npos) << response.error().message();
  }
  // --ca-bundle.
  {
    HttpClientOptions options = fast_options();
    options.ca_bundle = ca;
    auto client = HttpClient::create(options).value();
    auto response = client->send(HttpRequest::get(server.url("/bytes/5000")));
    ASSERT_TRUE(response.ok()) << response.error().message();
    EXPECT_EQ(response->body, pattern(1, 0, 5000));
    // The host name is checked as well as the chain: "localhost" is in the certificate.
    response = client->send(HttpRequest::get("https://localhost:" + std::to_string(server.port()) + "/echo"));
    ASSERT_TRUE(response.ok()) << response.error().message();
  }
  // SSL_CERT_FILE when no bundle is given.
  {
    ScopedEnv env({{"SSL_CERT_FILE", ca.c_str()}});
    auto client = HttpClient::create(fast_options()).value();
    auto response = client->send(HttpRequest::get(server.url("/echo")));
    ASSERT_TRUE(response.ok()) << response.error().message();
    EXPECT_EQ(response->status, 200);
  }
  // insecure skips verification.
  {
    HttpClientOptions options = fast_options();
    options.insecure = true;
    auto client = HttpClient::create(options).value();
    auto response = client->send(HttpRequest::get(server.url("/echo")));
    ASSERT_TRUE(response.ok()) << response.error().message();
    EXPECT_EQ(response->status, 200);
  }
}

TEST_F(HttpClientTest, EnvironmentProxyIsUsed) {
  // libcurl reads http_proxy itself; the client must not override it. The test server answers
  // proxy-form requests ("GET http://host/echo") like any other.
  Result<HttpResponse> response = internal_error("not sent");
  {
    std::string proxy = "http://127.0.0.1:" + std::to_string(server_.port());
    ScopedEnv env({{"http_proxy", proxy.c_str()}, {"no_proxy", nullptr}, {"NO_PROXY", nullptr}});
    auto client = make_client();
    response = client->send(HttpRequest::get("http://airlock-proxy-test.invalid/echo?via=proxy"));
  }
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  Json echo = parse_body(*response);
  EXPECT_EQ(echo["query"], "via=proxy");
  EXPECT_EQ(echoed_header(echo, "Host"), "airlock-proxy-test.invalid");
}

TEST_F(HttpClientTest, RejectsBadOptionsAndRequests) {
  HttpClientOptions options;
  options.ca_bundle = "/nonexistent/ca.pem";
  auto client = HttpClient::create(options);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(client.error().message().find("/nonexistent/ca.pem"), std::string::npos);

  auto good = make_client();
  auto response = good->send(HttpRequest::get("ftp://example.com/x"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kInvalidArgument);

  HttpRequest injected = HttpRequest::get(url("/echo"));
  injected.headers.add("X-Evil", "a\r\nX-Injected: 1");
  response = good->send(injected);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code(), ErrorCode::kInvalidArgument);

  auto echo = good->send(HttpRequest::get(url("/echo")));
  ASSERT_TRUE(echo.ok());
  EXPECT_EQ(echoed_header(parse_body(*echo), "User-Agent"), default_user_agent());
  EXPECT_EQ(default_user_agent().rfind("airlock/", 0), 0u);
}

TEST_F(HttpClientTest, DestroyingTheClientCancelsWhatIsInFlight) {
  std::future<Result<HttpResponse>> pending;
  {
    auto client = make_client();
    pending = client->submit(HttpRequest::get(url("/stall?seconds=20")));
    std::this_thread::sleep_for(milliseconds(200));
  }
  ASSERT_EQ(pending.wait_for(seconds(5)), std::future_status::ready);
  auto result = pending.get();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::kCancelled);
}

}  // namespace
}  // namespace airlock::net
