// HttpServer on real sockets (127.0.0.1, free ports), driven by raw sockets (to send exactly the
// bytes a hostile or unusual client sends), by net::HttpClient and by curl.
#include "net/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/json.h"
#include "core/strings.h"
#include "net/http_client.h"
#include "testing.h"

namespace airlock::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

long elapsed_ms(Clock::time_point since) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - since).count());
}

struct RawResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;
};

// A client that sends exactly the bytes it is given and reads responses off the socket.
class RawClient {
 public:
  explicit RawClient(int port, const char* address = "127.0.0.1") {
    bool v6 = std::string_view(address).find(':') != std::string_view::npos;
    fd_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc = -1;
    if (v6) {
      sockaddr_in6 addr{};
      addr.sin6_family = AF_INET6;
      addr.sin6_port = htons(static_cast<std::uint16_t>(port));
      inet_pton(AF_INET6, address, &addr.sin6_addr);
      rc = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    } else {
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<std::uint16_t>(port));
      inet_pton(AF_INET, address, &addr.sin_addr);
      rc = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    }
    connect_errno_ = rc == 0 ? 0 : errno;
    if (rc != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawClient() { close(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  int connect_errno() const { return connect_errno_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Closes with a reset instead of a FIN.
  void reset() {
    linger option{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &option, sizeof(option));
    close();
  }

  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // One response; nullopt when the connection ends or `timeout` passes first.
  std::optional<RawResponse> read_response(milliseconds timeout = seconds(10), bool head_request = false) {
    auto until = Clock::now() + timeout;
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(until)) return std::nullopt;
    }
    RawResponse response;
    std::string_view head(buffer_.data(), end);
    std::size_t line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    if (status_line.substr(0, 9) != "HTTP/1.1 ") return std::nullopt;
    response.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
    if (line_end != std::string_view::npos) {
      for (std::string_view line : split(head.substr(line_end + 2), '\n')) {
        line = trim(line);
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        response.headers.add(std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
      }
    }
    buffer_.erase(0, end + 4);
    bool bodyless = head_request || response.status < 200 || response.status == 204 || response.status == 304;
    if (bodyless) return response;
    if (auto te = response.headers.get("transfer-encoding"); te && iequals(*te, "chunked")) {
      while (true) {
        std::size_t line;
        while ((line = buffer_.find("\r\n")) == std::string::npos) {
          if (!fill(until)) return std::nullopt;
        }
        std::size_t size = std::stoul(buffer_.substr(0, line), nullptr, 16);
        while (buffer_.size() < line + 2 + size + 2) {
          if (!fill(until)) return std::nullopt;
        }
        response.body += buffer_.substr(line + 2, size);
        buffer_.erase(0, line + 2 + size + 2);
        if (size == 0) return response;
      }
    }
    if (auto length = response.headers.get("content-length")) {
      std::size_t size = std::stoul(*length);
      while (buffer_.size() < size) {
        if (!fill(until)) return std::nullopt;
      }
      response.body = buffer_.substr(0, size);
      buffer_.erase(0, size);
      return response;
    }
    while (fill(until)) {
    }
    response.body = std::move(buffer_);
    buffer_.clear();
    return response;
  }

  // Whether the server ends the connection (EOF or reset) within `timeout`.
  bool wait_closed(milliseconds timeout) {
    auto until = Clock::now() + timeout;
    while (true) {
      int left = static_cast<int>(std::chrono::duration_cast<milliseconds>(until - Clock::now()).count());
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, left) <= 0) return false;
      char scratch[4096];
      ssize_t n = recv(fd_, scratch, sizeof(scratch), 0);
      if (n <= 0) return true;
      buffer_.append(scratch, static_cast<std::size_t>(n));
    }
  }

  std::string& buffered() { return buffer_; }

 private:
  bool fill(Clock::time_point until) {
    int left = static_cast<int>(std::chrono::duration_cast<milliseconds>(until - Clock::now()).count());
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, left) <= 0) return false;
    char scratch[65536];
    ssize_t n = recv(fd_, scratch, sizeof(scratch), 0);
    if (n <= 0) return false;
    buffer_.append(scratch, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  int connect_errno_ = 0;
  std::string buffer_;
};

std::string get(std::string_view path, std::string_view extra = "") {
  return fmt::format("GET {} HTTP/1.1\r\nHost: test\r\n{}\r\n", path, extra);
}

std::string post(std::string_view path, std::string_view body) {
  return fmt::format("POST {} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n{}", path, body.size(), body);
}

// Handlers shared by most tests.
Router test_router() {
  Router router;
  auto ok = [](Status status) { EXPECT_TRUE(status.ok()) << status.error().message(); };
  ok(router.add("GET", "/hello", SyncHandler([](const ServerRequest&) {
                  return ServerResponse::text(200, "hello world");
                })));
  ok(router.add("POST", "/echo", SyncHandler([](const ServerRequest& request) {
                  ServerResponse response = ServerResponse::text(200, request.body, "application/octet-stream");
                  response.headers.set("X-Body-Length", std::to_string(request.body.size()));
                  return response;
                })));
  ok(router.add("GET", "/slow", SyncHandler([](const ServerRequest& request) {
                  int ms = std::atoi(request.query_param("ms").value_or("200").c_str());
                  std::this_thread::sleep_for(milliseconds(ms));
                  return ServerResponse::text(200, "slow done " + std::to_string(ms));
                })));
  ok(router.add("GET", "/api/v1/ai-models/{id}", SyncHandler([](const ServerRequest& request) {
                  return ServerResponse::json(200, Json{{"id", std::string(request.param("id"))}});
                })));
  ok(router.add("DELETE", "/api/v1/ai-models/{id}", SyncHandler([](const ServerRequest&) {
                  return ServerResponse{204, {}, {}};
                })));
  ok(router.add("GET", "/files/{path*}", SyncHandler([](const ServerRequest& request) {
                  return ServerResponse::json(200, Json{{"path", std::string(request.param("path"))}});
                })));
  RouteOptions small;
  small.max_body_bytes = 16;
  ok(router.add("POST", "/small", SyncHandler([](const ServerRequest& request) {
                  return ServerResponse::text(200, std::to_string(request.body.size()));
                }),
                small));
  ok(router.add("GET", "/throws", SyncHandler([](const ServerRequest&) -> ServerResponse {
                  throw std::runtime_error("boom");
                })));
  ok(router.add("GET", "/forgets", Handler([](ServerRequest, Responder) {})));
  RouteOptions on_loop;
  on_loop.on_event_loop = true;
  ok(router.add("GET", "/v1/health/live", SyncHandler([](const ServerRequest&) {
                  return ServerResponse::json(200, Json{{"status", "live"}});
                }),
                on_loop));
  return router;
}

std::unique_ptr<HttpServer> start(Router router, HttpServerOptions options = {}) {
  auto server = HttpServer::start(std::move(options), std::move(router));
  if (!server.ok()) {
    ADD_FAILURE() << server.error().message();
    return nullptr;
  }
  return std::move(server).value();
}

std::unique_ptr<HttpClient> make_client(HttpClientOptions options = {}) {
  options.max_retries = 0;
  auto client = HttpClient::create(options);
  EXPECT_TRUE(client.ok());
  return std::move(client).value();
}

TEST(HttpServer, RoutesAnswersAndErrorsAsJson) {
  auto server = start(test_router());
  ASSERT_TRUE(server);
  EXPECT_GT(server->port(), 0);
  auto client = make_client();

  auto hello = client->send(HttpRequest::get(server->url() + "/hello"));
  ASSERT_TRUE(hello.ok()) << hello.error().message();
  EXPECT_EQ(hello->status, 200);
  EXPECT_EQ(hello->body, "hello world");
  EXPECT_EQ(hello->headers.get("server"), default_server_header());
  EXPECT_TRUE(hello->headers.get("date").has_value());
  EXPECT_EQ(hello->headers.get("content-length"), "11");

  auto model = client->send(HttpRequest::get(server->url() + "/api/v1/ai-models/nv%2Dembed%20qa"));
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(model->body, R"({"id":"nv-embed qa"})");
  EXPECT_EQ(model->headers.get("content-type"), "application/json");

  auto file = client->send(HttpRequest::get(server->url() + "/files/a/b/c.js"));
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->body, R"({"path":"a/b/c.js"})");

  auto missing = client->send(HttpRequest::get(server->url() + "/nope?secret=x"));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  auto body = parse_json(missing->body, "404");
  ASSERT_TRUE(body.ok()) << missing->body;
  EXPECT_EQ((*body)["error"]["code"], "not_found");
  EXPECT_EQ(missing->body.find("secret"), std::string::npos);

  HttpRequest put = HttpRequest::put(server->url() + "/api/v1/ai-models/x", "{}");
  auto not_allowed = client->send(put);
  ASSERT_TRUE(not_allowed.ok());
  EXPECT_EQ(not_allowed->status, 405);
  EXPECT_EQ(not_allowed->headers.get("allow"), "DELETE, GET, HEAD, OPTIONS");
  EXPECT_EQ((*parse_json(not_allowed->body, "405"))["error"]["code"], "method_not_allowed");

  HttpRequest options;
  options.method = "OPTIONS";
  options.url = server->url() + "/api/v1/ai-models/x";
  auto allowed = client->send(options);
  ASSERT_TRUE(allowed.ok());
  EXPECT_EQ(allowed->status, 204);
  EXPECT_EQ(allowed->headers.get("allow"), "DELETE, GET, HEAD, OPTIONS");

  HttpRequest del;
  del.method = "DELETE";
  del.url = server->url() + "/api/v1/ai-models/x";
  auto deleted = client->send(del);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->status, 204);
  EXPECT_FALSE(deleted->headers.contains("content-length"));

  for (int i = 0; i < 3; ++i) {
    auto live = client->send(HttpRequest::get(server->url() + "/v1/health/live"));
    ASSERT_TRUE(live.ok());
    EXPECT_EQ(live->body, R"({"status":"live"})");
  }

  auto thrown = client->send(HttpRequest::get(server->url() + "/throws"));
  ASSERT_TRUE(thrown.ok());
  EXPECT_EQ(thrown->status, 500);
  auto forgotten = client->send(HttpRequest::get(server->url() + "/forgets"));
  ASSERT_TRUE(forgotten.ok());
  EXPECT_EQ(forgotten->status, 500);
  EXPECT_NE(forgotten->body.find("without a response"), std::string::npos);
}

TEST(HttpServer, CustomErrorBodies) {
  HttpServerOptions options;
  options.error_response = [](int status, std::string_view message) {
    // The OpenAI shape `serve` uses.
    return ServerResponse::json(status, Json{{"error", {{"message", std::string(message)}, {"type", "invalid_request_error"},
                                                        {"param", nullptr}, {"code", nullptr}}}});
  };
  auto server = start(test_router(), options);
  ASSERT_TRUE(server);
  RawClient raw(server->port());
  raw.send(get("/missing"));
  auto response = raw.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ((*parse_json(response->body, "404"))["error"]["type"], "invalid_request_error");
}

TEST(HttpServer, KeepAliveReusesOneConnection) {
  auto server = start(test_router());
  ASSERT_TRUE(server);
  RawClient raw(server->port());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(raw.send(post("/echo", "message " + std::to_string(i))));
    auto response = raw.read_response();
    ASSERT_TRUE(response) << "request " << i;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "message " + std::to_string(i));
    EXPECT_FALSE(response->headers.contains("connection"));
  }
  // HTTP/1.0 keeps the connection only when asked, and says so.
  raw.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  auto old = raw.read_response();
  ASSERT_TRUE(old);
  EXPECT_EQ(old->headers.get("connection"), "keep-alive");
  raw.send("GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  auto last = raw.read_response();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->headers.get("connection"), "close");
  EXPECT_TRUE(raw.wait_closed(seconds(5)));
  EXPECT_EQ(server->stats().accepted_connections, 1u);

  // HttpClient (curl) reuses its connection too.
  auto client = make_client();
  for (int i = 0; i < 10; ++i) {
    auto response = client->send(HttpRequest::get(server->url() + "/hello"));
    ASSERT_TRUE(response.ok());
    EXPECT_EQ(response->status, 200);
  }
  EXPECT_EQ(server->stats().accepted_connections, 2u);
  EXPECT_GE(server->stats().requests_served, 17u);
}

TEST(HttpServer, ChunkedRequestBodies) {
  auto server = start(test_router());
  ASSERT_TRUE(server);
  RawClient raw(server->port());
  raw.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n");
  std::this_thread::sleep_for(milliseconds(50));
  raw.send("1");
  std::this_thread::sleep_for(milliseconds(50));
  raw.send("\r\n ");
  raw.send("\r\n6\r\n world\r\n0\r\nX-Checksum: none\r\n\r\n");
  auto response = raw.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "hello  world");

  // A chunked body over the route's limit is refused as it arrives.
  raw.send("POST /small HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n1\r\nx\r\n");
  auto too_big = raw.read_response();
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 413);
  EXPECT_EQ(too_big->headers.get("connection"), "close");

  // curl sends a file of unknown size chunked.
  testing::TempDir dir;
  std::string payload;
  for (int i = 0; i < 20000; ++i) payload += "line " + std::to_string(i) + "\n";
  testing::write_text(dir / "payload.txt", payload);
  auto curl = testing::run_command({"curl", "-sS", "-H", "Transfer-Encoding: chunked", "--data-binary",
                                    "@" + (dir / "payload.txt").string(), server->url() + "/echo"});
  ASSERT_EQ(curl.exit_code, 0) << curl.err;
  EXPECT_EQ(curl.out, payload);
}

TEST(HttpServer, ExpectContinue) {
  auto server = start(test_router());
  ASSERT_TRUE(server);
  RawClient raw(server->port());
  raw.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  auto interim = raw.read_response(seconds(5));
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  raw.send("abcde");
  auto final_response = raw.read_response();
  ASSERT_TRUE(final_response);
  EXPECT_EQ(final_response->status, 200);
  EXPECT_EQ(final_response->body, "abcde");

  // Too large: the final status comes instead of 100, and the body is never asked for.
  raw.send("POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n");
  auto refused = raw.read_response(seconds(5));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 413);
  EXPECT_TRUE(raw.wait_closed(seconds(5)));

  // curl waits for 100 Continue before a large body.
  std::string big(3 << 20, 'z');
  testing::TempDir dir;
  testing::write_text(dir / "big", big);
  auto curl = testing::run_command({"curl", "-sS", "-o", (dir / "out").string(), "-w", "%{http_code}", "-H",
                                    "Expect: 100-continue", "--data-binary", "@" + (dir / "big").string(),
                                    server->url() + "/echo"});
  ASSERT_EQ(curl.exit_code, 0) << curl.err;
  EXPECT_EQ(curl.out, "200");
  EXPECT_EQ(testing::read_text(dir / "out"), big);
}

TEST(HttpServer, PipelinedRequestsAnswerInOrder) {
  auto server = start(test_router());
  ASSERT_TRUE(server);
  RawClient raw(server->port());
  // The first is the slowest: its answer must still come first.
  std::string batch = get("/slow?ms=300") + post("/echo", "second") + get("/hello") + post("/echo", "fourth") +
                      "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n" + get("/v1/health/live") + get("/api/v1/ai-models/last");
  ASSERT_TRUE(raw.send(batch));
  auto first = raw.read_response();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->body, "slow done 300");
  auto second = raw.read_response();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body, "second");
  auto third = raw.read_response();
  ASSERT_TRUE(third);
  EXPECT_EQ(third->body, "hello world");
  auto fourth = raw.read_response();
  ASSERT_TRUE(fourth);
  EXPECT_EQ(fourth->body, "fourth");
  auto fifth = raw.read_response(seconds(10), true);
  ASSERT_TRUE(fifth);
  EXPECT_EQ(fifth->status, 200);
  auto sixth = raw.read_response();
  ASSERT_TRUE(sixth);
  EXPECT_EQ(sixth->body, R"({"status":"live"})");
  auto seventh = raw.read_response();
  ASSERT_TRUE(seventh);
  EXPECT_EQ(seventh->body, R"({"id":"last"})");
  EXPECT_EQ(server->stats().accepted_connections, 1u);

  // A flood of pipelined requests from a client that reads late: the server stops reading and
  // parsing while answers pile up, and catches up once the client reads.
  constexpr int kFlood = 1000;
  const std::string pad(300, 'p');  // 350 KB of requests and 450 KB of answers: past both limits
  RawClient flood(server->port());
  std::string requests;
  for (int i = 0; i < kFlood; ++i) requests += get("/files/" + pad + "/" + std::to_string(i));
  std::thread sender([&] { flood.send(requests); });
  std::this_thread::sleep_for(milliseconds(200));
  for (int i = 0; i < kFlood; ++i) {
    auto response = flood.read_response();
    ASSERT_TRUE(response) << "response " << i;
    ASSERT_EQ(response->body, R"({"path":")" + pad + "/" + std::to_string(i) + "\"}");
  }
  sender.join();
}

TEST(HttpServer, RefusesLargeBodiesFromContentLengthWithoutReadingThem) {
  std::atomic<int> calls{0};
  Router router;
  ASSERT_TRUE(router.add("POST", "/upload", SyncHandler([&](const ServerRequest&) {
                ++calls;
                return ServerResponse::text(200, "stored");
              })).ok());
  HttpServerOptions options;
  options.max_body_bytes = 1 << 20;
  auto server = start(std::move(router), options);
  ASSERT_TRUE(server);
  RawClient raw(server->port());
  auto started = Clock::now();
  // Ten gigabytes announced, none sent: the answer cannot depend on reading them.
  raw.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n");
  auto response = raw.read_response(seconds(5));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_LT(elapsed_ms(started), 2000);
  EXPECT_EQ(response->headers.get("connection"), "close");
  EXPECT_NE(response->body.find("content_too_large"), std::string::npos);
  EXPECT_TRUE(raw.wait_closed(seconds(5)));
  EXPECT_EQ(calls.load(), 0);

  // A client already sending its body still reads the 413 (lingering close), not a reset.
  RawClient eager(server->port());
  std::string body(2 << 20, 'x');
  eager.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n");
  std::thread sender([&] { eager.send(body); });
  auto eager_response = eager.read_response(seconds(5));
  sender.join();
  ASSERT_TRUE(eager_response);
  EXPECT_EQ(eager_response->status, 413);
  EXPECT_EQ(calls.load(), 0);
}

TEST(HttpServer, OversizedHeadersGet431) {
  HttpServerOptions options;
  options.limits.max_head_bytes = 8 * 1024;
  auto server = start(test_router(), options);
  ASSERT_TRUE(server);
  RawClient raw(server->port());
  raw.send(get("/hello", "X-Huge: " + std::string(16 * 1024, 'a') + "\r\n"));
  auto response = raw.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 431);
  EXPECT_TRUE(raw.wait_closed(seconds(5)));

  RawClient long_line(server->port());
  long_line.send("GET /" + std::string(10 * 1024, 'p') + " HTTP/1.1\r\nHost: t\r\n\r\n");
  auto long_response = long_line.read_response();
  ASSERT_TRUE(long_response);
  EXPECT_EQ(long_response->status, 431);
}

TEST(HttpServer, MalformedRequestsGet400AndUnsupportedOnes501Or505) {
  auto server = start(test_router());
  ASSERT_TRUE(server);
  struct Case {
    std::string bytes;
    int status;
  };
  std::vector<Case> cases = {
      {std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage\r\n\r\n", 22), 400},
      // A TLS ClientHello on the plain port is refused at its first byte, not after a timeout.
      {std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11), 400},
      {"GET /hello HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n", 400},
      {"GET /hello HTTP/1.1\r\n\r\n", 400},
      {"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n", 400},
      {"GET /hello HTTP/2.0\r\nHost: t\r\n\r\n", 505},
      {"BREW /hello HTTP/1.1\r\nHost: t\r\n\r\n", 501},
      {"GET /../../etc/passwd HTTP/1.1\r\nHost: t\r\n\r\n", 400},
  };
  for (const auto& test : cases) {
    RawClient raw(server->port());
    raw.send(test.bytes);
    auto response = raw.read_response(seconds(5));
    ASSERT_TRUE(response) << test.bytes;
    EXPECT_EQ(response->status, test.status) << test.bytes;
    EXPECT_EQ(response->headers.get("content-type"), "application/json");
  }
  // The server is still fine.
  RawClient raw(server->port());
  raw.send(get("/hello"));
  auto response = raw.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST(HttpServer, SlowlorisClientIsClosedAfterTheHeaderTimeout) {
  HttpServerOptions options;
  options.header_timeout = milliseconds(600);
  options.idle_timeout = milliseconds(800);
  auto server = start(test_router(), options);
  ASSERT_TRUE(server);

  RawClient slow(server->port());
  auto started = Clock::now();
  slow.send("GET /hello HTTP/1.1\r\n");
  bool closed = false;
  // Trickle a header line every 100 ms for up to 5 s; the server must cut it off long before.
  for (int i = 0; i < 50 && !closed; ++i) {
    if (!slow.send("X-" + std::to_string(i) + ": y\r\n")) break;
    closed = slow.wait_closed(milliseconds(100));
  }
  long took = elapsed_ms(started);
  EXPECT_TRUE(closed || slow.wait_closed(seconds(1)));
  EXPECT_GE(took, 500);
  EXPECT_LT(took, 2000);
  EXPECT_NE(slow.buffered().find("408"), std::string::npos);

  // A keep-alive connection that stays idle is closed after the idle timeout.
  RawClient idle(server->port());
  idle.send(get("/hello"));
  ASSERT_TRUE(idle.read_response());
  auto idle_start = Clock::now();
  EXPECT_TRUE(idle.wait_closed(seconds(5)));
  EXPECT_GE(elapsed_ms(idle_start), 600);
  EXPECT_EQ(server->stats().open_connections, 0u);
}

TEST(HttpServer, ServesHundredsOfConcurrentConnections) {
  constexpr int kConnections = 320;
  std::mutex mutex;
  std::condition_variable arrived;
  std::vector<std::pair<std::string, Responder>> pending;
  Router router;
  // Every request is held until all have arrived: they are all in flight at once.
  ASSERT_TRUE(router.add("GET", "/hold/{n}", Handler([&](ServerRequest request, Responder responder) {
                std::lock_guard<std::mutex> lock(mutex);
                pending.emplace_back(std::string(request.param("n")), std::move(responder));
                arrived.notify_all();
              })).ok());
  HttpServerOptions options;
  options.worker_threads = 2;
  options.event_loops = 2;  // sharing the listening socket
  auto server = start(std::move(router), options);
  ASSERT_TRUE(server);

  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < kConnections; ++i) {
    clients.push_back(std::make_unique<RawClient>(server->port()));
    ASSERT_TRUE(clients.back()->connected());
    ASSERT_TRUE(clients.back()->send(get("/hold/" + std::to_string(i))));
  }
  {
    std::unique_lock<std::mutex> lock(mutex);
    ASSERT_TRUE(arrived.wait_for(lock, seconds(20), [&] { return pending.size() == kConnections; }))
        << pending.size() << " arrived";
  }
  HttpServerStats stats = server->stats();
  EXPECT_EQ(stats.open_connections, static_cast<std::uint64_t>(kConnections));
  EXPECT_EQ(stats.requests_in_flight, static_cast<std::uint64_t>(kConnections));
  // Answered from this thread, not from a handler.
  for (auto& [n, responder] : pending) EXPECT_TRUE(responder.respond(ServerResponse::text(200, "done " + n)));
  for (int i = 0; i < kConnections; ++i) {
    auto response = clients[i]->read_response();
    ASSERT_TRUE(response) << "connection " << i;
    EXPECT_EQ(response->body, "done " + std::to_string(i));
  }
  // And each connection is still usable.
  for (int i = 0; i < kConnections; i += 7) {
    clients[i]->send(get("/hold/again"));
  }
  {
    std::unique_lock<std::mutex> lock(mutex);
    ASSERT_TRUE(arrived.wait_for(lock, seconds(10), [&] { return pending.size() == kConnections + 46; }));
    for (std::size_t i = kConnections; i < pending.size(); ++i) pending[i].second.respond(ServerResponse::text(200, "again"));
  }
  for (int i = 0; i < kConnections; i += 7) {
    auto response = clients[i]->read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, "again");
  }
  pending.clear();
}

TEST(HttpServer, RejectsConnectionsOverTheLimitWith503) {
  HttpServerOptions options;
  options.max_connections = 4;
  auto server = start(test_router(), options);
  ASSERT_TRUE(server);
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<RawClient>(server->port()));
    held.back()->send(get("/hello"));
    ASSERT_TRUE(held.back()->read_response());
  }
  RawClient extra(server->port());
  extra.send(get("/hello"));
  auto response = extra.read_response(seconds(5));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 503);
  EXPECT_TRUE(extra.wait_closed(seconds(5)));
  EXPECT_EQ(server->stats().rejected_connections, 1u);
  // Room again once one leaves.
  held.pop_back();
  for (int attempt = 0; attempt < 100 && server->stats().open_connections >= 4; ++attempt) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  RawClient later(server->port());
  later.send(get("/hello"));
  auto ok = later.read_response();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

// A stand-in for the model server's batching scheduler: handlers queue their Responder and
// return; a separate thread answers later.
class Scheduler {
 public:
  Scheduler() : thread_([this] { run(); }) {}
  ~Scheduler() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  void enqueue(std::string input, Responder responder) {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.emplace_back(std::move(input), std::move(responder));
    changed_.notify_all();
  }
  int dropped() const { return dropped_; }
  int answered() const { return answered_; }

 private:
  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      changed_.wait_for(lock, milliseconds(50), [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      if (queue_.empty()) continue;
      std::this_thread::sleep_for(milliseconds(100));  // gather a batch
      for (auto& [input, responder] : queue_) {
        if (responder.cancelled()) {
          ++dropped_;  // the client left: no work for it
          continue;
        }
        responder.respond(ServerResponse::json(200, Json{{"embedding_of", input}}));
        ++answered_;
      }
      queue_.clear();
    }
  }
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::pair<std::string, Responder>> queue_;
  bool stopping_ = false;
  std::atomic<int> dropped_{0};
  std::atomic<int> answered_{0};
  std::thread thread_;
};

TEST(HttpServer, AsyncHandlersAnswerFromAnotherThread) {
  Scheduler scheduler;
  std::atomic<int> handler_returned{0};
  Router router = test_router();
  ASSERT_TRUE(router.add("POST", "/v1/embeddings", Handler([&](ServerRequest request, Responder responder) {
                scheduler.enqueue(std::move(request.body), std::move(responder));
                ++handler_returned;
              })).ok());
  HttpServerOptions options;
  options.worker_threads = 1;  // one worker, yet many requests wait on the scheduler at once
  auto server = start(std::move(router), options);
  ASSERT_TRUE(server);
  auto client = make_client();
  std::vector<std::future<Result<HttpResponse>>> futures;
  for (int i = 0; i < 8; ++i) {
    futures.push_back(client->submit(HttpRequest::post(server->url() + "/v1/embeddings", "text " + std::to_string(i),
                                                       "text/plain")));
  }
  // While those wait for the scheduler, the single worker still serves other routes.
  auto quick = client->send(HttpRequest::get(server->url() + "/hello"));
  ASSERT_TRUE(quick.ok());
  EXPECT_EQ(quick->status, 200);
  for (int i = 0; i < 8; ++i) {
    auto response = futures[i].get();
    ASSERT_TRUE(response.ok()) << response.error().message();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, R"({"embedding_of":"text )" + std::to_string(i) + "\"}");
  }
  EXPECT_EQ(handler_returned.load(), 8);
  EXPECT_EQ(scheduler.answered(), 8);
}

TEST(HttpServer, HandlersLearnThatTheClientWentAway) {
  std::promise<void> callback_ran;
  std::atomic<bool> callback_set{false};
  std::atomic<bool> sync_saw_cancel{false};
  std::promise<void> sync_done;
  Scheduler scheduler;
  Router router;
  std::promise<void> wait_started;
  ASSERT_TRUE(router.add("GET", "/wait", Handler([&](ServerRequest, Responder responder) {
                responder.on_cancel([&] {
                  if (!callback_set.exchange(true)) callback_ran.set_value();
                });
                wait_started.set_value();
                // Kept, never answered: only the client leaving ends this.
                static std::vector<Responder> kept;
                kept.push_back(responder);
              })).ok());
  std::atomic<int> started{0};
  ASSERT_TRUE(router.add("GET", "/poll", SyncHandler([&](const ServerRequest& request) {
                ++started;
                auto until = Clock::now() + seconds(10);
                while (!request.cancelled() && Clock::now() < until) std::this_thread::sleep_for(milliseconds(10));
                sync_saw_cancel = request.cancelled();
                sync_done.set_value();
                return ServerResponse::text(200, "too late");
              })).ok());
  ASSERT_TRUE(router.add("POST", "/v1/embeddings", Handler([&](ServerRequest request, Responder responder) {
                scheduler.enqueue(std::move(request.body), std::move(responder));
                ++started;
              })).ok());
  auto server = start(std::move(router));
  ASSERT_TRUE(server);

  {
    RawClient raw(server->port());
    raw.send(get("/wait"));
    // (A request whose client leaves before a worker picks it up never reaches its handler.)
    ASSERT_EQ(wait_started.get_future().wait_for(seconds(5)), std::future_status::ready);
  }  // closed (FIN)
  EXPECT_EQ(callback_ran.get_future().wait_for(seconds(5)), std::future_status::ready);

  {
    RawClient raw(server->port());
    raw.send(get("/poll"));
    for (int i = 0; i < 500 && started == 0; ++i) std::this_thread::sleep_for(milliseconds(5));
    raw.reset();  // RST this time
  }
  ASSERT_EQ(sync_done.get_future().wait_for(seconds(5)), std::future_status::ready);
  EXPECT_TRUE(sync_saw_cancel.load());

  // Queued work for departed clients is dropped by the scheduler.
  {
    RawClient raw(server->port());
    raw.send(post("/v1/embeddings", "abandoned"));
    for (int i = 0; i < 500 && started < 2; ++i) std::this_thread::sleep_for(milliseconds(2));
  }
  for (int i = 0; i < 200 && scheduler.dropped() == 0; ++i) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(scheduler.dropped(), 1);
  EXPECT_EQ(scheduler.answered(), 0);
}

TEST(HttpServer, StreamsChunkedBodies) {
  Router router;
  ASSERT_TRUE(router.add("GET", "/events", Handler([](ServerRequest request, Responder responder) {
                // Produced from another thread, as a generator would.
                std::thread([request = std::move(request), responder]() mutable {
                  HttpHeaders headers{{"Content-Type", "text/event-stream"}};
                  ResponseStream stream = responder.start_stream(200, headers);
                  for (int i = 0; i < 3; ++i) {
                    if (!stream.write("data: " + std::to_string(i) + "\n\n")) return;
                    std::this_thread::sleep_for(milliseconds(20));
                  }
                  stream.write("data: [DONE]\n\n");
                  stream.finish();
                }).detach();
              })).ok());
  ASSERT_TRUE(router.add("GET", "/broken", Handler([](ServerRequest, Responder responder) {
                ResponseStream stream = responder.start_stream(200);
                stream.write("partial");
                // Dropped without finish(): the client must be able to tell.
              })).ok());
  RouteOptions on_loop;
  on_loop.on_event_loop = true;
  ASSERT_TRUE(router.add("GET", "/broken-on-loop", Handler([](ServerRequest, Responder responder) {
                ResponseStream stream = responder.start_stream(200);
                stream.write("partial");
              }),
              on_loop).ok());
  auto server = start(std::move(router));
  ASSERT_TRUE(server);
  const std::string expected = "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: [DONE]\n\n";

  RawClient raw(server->port());
  raw.send(get("/events"));
  auto response = raw.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->headers.get("transfer-encoding"), "chunked");
  EXPECT_EQ(response->headers.get("content-type"), "text/event-stream");
  EXPECT_EQ(response->body, expected);
  // Same connection, next request.
  raw.send("HEAD /events HTTP/1.1\r\nHost: t\r\n\r\n");
  auto head = raw.read_response(seconds(5), true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  raw.send(get("/events"));
  auto again = raw.read_response();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, expected);

  // HTTP/1.0: no chunks; the body ends with the connection.
  RawClient old(server->port());
  old.send("GET /events HTTP/1.0\r\n\r\n");
  auto close_delimited = old.read_response();
  ASSERT_TRUE(close_delimited);
  EXPECT_FALSE(close_delimited->headers.contains("transfer-encoding"));
  EXPECT_EQ(close_delimited->body, expected);

  auto client = make_client();
  auto streamed = client->send(HttpRequest::get(server->url() + "/events"));
  ASSERT_TRUE(streamed.ok());
  EXPECT_EQ(streamed->body, expected);
  for (const char* path : {"/broken", "/broken-on-loop"}) {
    auto started = Clock::now();
    auto broken = client->send(HttpRequest::get(server->url() + path));
    EXPECT_FALSE(broken.ok()) << path;  // curl sees the chunked body end early
    EXPECT_LT(elapsed_ms(started), 5000) << path;
  }
}

TEST(HttpServer, SlowReadersAreBoundedAndTimedOut) {
  std::atomic<std::uint64_t> written{0};
  std::atomic<bool> producer_stopped{false};
  Router router;
  ASSERT_TRUE(router.add("GET", "/firehose", SyncHandler([&](const ServerRequest&) -> ServerResponse {
                return ServerResponse::text(200, std::string(1 << 20, 'x'));
              })).ok());
  ASSERT_TRUE(router.add("GET", "/stream", Handler([&](ServerRequest, Responder responder) {
                ResponseStream stream = responder.start_stream(200);
                std::string chunk(64 * 1024, 'y');
                // write() blocks while the client is behind, and says false once it is gone.
                while (stream.write(chunk)) written += chunk.size();
                producer_stopped = true;
              })).ok());
  HttpServerOptions options;
  options.write_timeout = milliseconds(500);
  auto server = start(std::move(router), options);
  ASSERT_TRUE(server);

  RawClient reader(server->port());
  reader.send(get("/stream"));
  std::this_thread::sleep_for(milliseconds(300));
  // The producer is held back: what it wrote is about the socket buffers plus the stream's
  // 1 MiB allowance, not an ever-growing queue.
  std::uint64_t held_at = written.load();
  EXPECT_GT(held_at, 0u);
  EXPECT_LT(held_at, std::uint64_t{48} << 20);
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_FALSE(producer_stopped.load());
  // Never reading, the client is dropped after the write timeout and the producer told.
  auto started = Clock::now();
  for (int i = 0; i < 400 && !producer_stopped; ++i) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_TRUE(producer_stopped.load());
  EXPECT_LT(elapsed_ms(started), 3000);

  // The same for a plain response the client does not read.
  RawClient stalled(server->port());
  for (int i = 0; i < 32; ++i) stalled.send(get("/firehose"));
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(server->stats().open_connections, 1u);
  for (int i = 0; i < 300 && server->stats().open_connections > 0; ++i) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(server->stats().open_connections, 0u);
}

TEST(HttpServer, HeadAnswersHeadersOnly) {
  Router router = test_router();
  ASSERT_TRUE(router.add("HEAD", "/blob", SyncHandler([](const ServerRequest&) {
                ServerResponse response;
                response.headers.set("Content-Length", "123456");  // the size of a body not produced
                return response;
              })).ok());
  auto server = start(std::move(router));
  ASSERT_TRUE(server);
  RawClient raw(server->port());
  raw.send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n" + get("/hello"));
  auto head = raw.read_response(seconds(5), true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->headers.get("content-length"), "11");
  // No body bytes came with it: the next response starts right away.
  auto next = raw.read_response();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, "hello world");
  raw.send("HEAD /blob HTTP/1.1\r\nHost: t\r\n\r\n");
  auto blob = raw.read_response(seconds(5), true);
  ASSERT_TRUE(blob);
  EXPECT_EQ(blob->headers.get("content-length"), "123456");

  auto client = make_client();
  auto response = client->send(HttpRequest::head(server->url() + "/hello"));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(response->body.empty());
}

TEST(HttpServer, GracefulShutdownFinishesInFlightRequests) {
  auto server = start(test_router());
  ASSERT_TRUE(server);
  int port = server->port();
  RawClient idle(port);  // a keep-alive connection with nothing in flight
  idle.send(get("/hello"));
  ASSERT_TRUE(idle.read_response());

  RawClient busy(port);
  busy.send(get("/slow?ms=700"));
  for (int i = 0; i < 200 && server->stats().requests_in_flight == 0; ++i) std::this_thread::sleep_for(milliseconds(5));
  ASSERT_EQ(server->stats().requests_in_flight, 1u);

  auto started = Clock::now();
  auto finished = std::async(std::launch::async, [&] { return server->shutdown(seconds(10)); });
  EXPECT_TRUE(idle.wait_closed(seconds(2)));  // idle connections go at once
  // New connections are refused while the slow request finishes.
  bool refused = false;
  for (int i = 0; i < 100 && !refused; ++i) {
    RawClient late(port);
    refused = !late.connected();
    if (!refused) std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(refused);
  auto response = busy.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "slow done 700");
  EXPECT_EQ(response->headers.get("connection"), "close");
  EXPECT_TRUE(finished.get());
  EXPECT_GE(elapsed_ms(started), 500);
  EXPECT_LT(elapsed_ms(started), 5000);
}

TEST(HttpServer, ShutdownDeadlineCancelsWhatIsLeft) {
  std::atomic<bool> saw_cancel{false};
  Router router;
  ASSERT_TRUE(router.add("GET", "/forever", SyncHandler([&](const ServerRequest& request) {
                auto until = Clock::now() + seconds(10);
                while (!request.cancelled() && Clock::now() < until) std::this_thread::sleep_for(milliseconds(5));
                saw_cancel = request.cancelled();
                return ServerResponse::text(200, "never seen");
              })).ok());
  auto server = start(std::move(router));
  ASSERT_TRUE(server);
  RawClient raw(server->port());
  raw.send(get("/forever"));
  for (int i = 0; i < 200 && server->stats().requests_in_flight == 0; ++i) std::this_thread::sleep_for(milliseconds(5));
  auto started = Clock::now();
  EXPECT_FALSE(server->shutdown(milliseconds(300)));
  EXPECT_LT(elapsed_ms(started), 3000);
  EXPECT_TRUE(saw_cancel.load());
  EXPECT_TRUE(raw.wait_closed(seconds(2)));
  EXPECT_FALSE(server->shutdown(seconds(1)));  // idempotent: the same answer
}

TEST(HttpServer, TlsWithASelfSignedCertificate) {
  testing::TempDir dir;
  std::string cert = (dir / "cert.pem").string();
  std::string key = (dir / "key.pem").string();
  auto made = testing::run_command({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"});
  ASSERT_EQ(made.exit_code, 0) << made.err;

  HttpServerOptions options;
  options.tls = TlsOptions{cert, key};
  auto server = start(test_router(), options);
  ASSERT_TRUE(server);
  EXPECT_EQ(server->url().rfind("https://127.0.0.1:", 0), 0u);

  HttpClientOptions client_options;
  client_options.ca_bundle = cert;
  auto client = make_client(client_options);
  for (int i = 0; i < 3; ++i) {
    auto response = client->send(HttpRequest::post(server->url() + "/echo", std::string(100000, 'a' + i), "text/plain"));
    ASSERT_TRUE(response.ok()) << response.error().message();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, std::string(100000, 'a' + i));
  }
  EXPECT_EQ(server->stats().accepted_connections, 1u);  // one TLS session, kept alive

  // Without the CA the certificate is refused: the client really verifies.
  auto untrusted = make_client();
  EXPECT_FALSE(untrusted->send(HttpRequest::get(server->url() + "/hello")).ok());

  // Plain HTTP to the TLS port is closed, not answered; the server carries on.
  RawClient plain(server->port());
  plain.send(get("/hello"));
  EXPECT_TRUE(plain.wait_closed(seconds(5)));
  auto curl = testing::run_command({"curl", "-sS", "--cacert", cert, server->url() + "/api/v1/ai-models/tls"});
  ASSERT_EQ(curl.exit_code, 0) << curl.err;
  EXPECT_EQ(curl.out, R"({"id":"tls"})");

  // Unusable files are reported at start, naming the file.
  HttpServerOptions bad;
  bad.tls = TlsOptions{cert, (dir / "missing.pem").string()};
  auto failed = HttpServer::start(bad, test_router());
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message().find("missing.pem"), std::string::npos);
  HttpServerOptions swapped;
  swapped.tls = TlsOptions{key, cert};
  EXPECT_FALSE(HttpServer::start(swapped, test_router()).ok());
}

TEST(HttpServer, AccessLogLeavesOutQueriesAndCredentials) {
  std::mutex mutex;
  std::vector<std::string> lines;
  std::vector<int> statuses;
  HttpServerOptions options;
  options.access_log = [&](const AccessLogEntry& entry) {
    std::lock_guard<std::mutex> lock(mutex);
    lines.push_back(format_access_log(entry));
    statuses.push_back(entry.status);
  };
  auto server = start(test_router(), options);
  ASSERT_TRUE(server);
  RawClient raw(server->port());
  raw.send(get("/hello?api_key=nvapi-supersecretvalue123", "Authorization: Bearer topsecrettoken\r\n"));
  ASSERT_TRUE(raw.read_response());
  raw.send(get("/nothing?token=abc"));
  ASSERT_TRUE(raw.read_response());
  raw.send("garbage\r\n\r\n");
  ASSERT_TRUE(raw.read_response());
  for (int i = 0; i < 100; ++i) {
    std::lock_guard<std::mutex> lock(mutex);
    if (lines.size() >= 3) break;
  }
  std::lock_guard<std::mutex> lock(mutex);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(statuses, (std::vector<int>{200, 404, 400}));
  EXPECT_NE(lines[0].find("\"GET /hello\" 200 11B"), std::string::npos) << lines[0];
  EXPECT_NE(lines[2].find("\"- -\" 400"), std::string::npos) << lines[2];
  for (const auto& line : lines) {
    EXPECT_EQ(line.find("secret"), std::string::npos) << line;
    EXPECT_EQ(line.find("token"), std::string::npos) << line;
    EXPECT_EQ(line.find('?'), std::string::npos) << line;
  }
}

TEST(HttpServer, BindsIpv6AndReportsAddressesInUse) {
  HttpServerOptions options;
  options.host = "::1";
  auto server = HttpServer::start(options, test_router());
  if (!server.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << server.error().message();
  EXPECT_EQ((*server)->url().rfind("http://[::1]:", 0), 0u);
  RawClient raw((*server)->port(), "::1");
  ASSERT_TRUE(raw.connected());
  raw.send(get("/hello"));
  auto response = raw.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);

  HttpServerOptions same;
  same.host = "[::1]";
  same.port = (*server)->port();
  auto clash = HttpServer::start(same, test_router());
  ASSERT_FALSE(clash.ok());
  EXPECT_NE(clash.error().message().find("--port"), std::string::npos);
}

TEST(TerminationSignal, ReturnsTheSignalThatArrived) {
  TerminationSignal signal;
  EXPECT_EQ(signal.wait_for(milliseconds(20)), std::nullopt);
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  EXPECT_EQ(signal.wait_for(seconds(5)), SIGTERM);
}

}  // namespace
}  // namespace airlock::net
