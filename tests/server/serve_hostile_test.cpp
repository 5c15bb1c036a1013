// A flood of malformed and hostile requests (bad JSON, wrong types, huge arrays, invalid UTF-8,
// deep nesting, garbage instead of HTTP, lying Content-Length, header bombs) plus slowloris
// connections that trickle partial bodies: the server answers each with a 4xx, keeps serving
// real requests meanwhile, and its memory stays flat. 2,000 requests by default (AIRLOCK_SERVE_FLOOD
// sets the count; 10,000 is the issue's figure).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "serve_fixture.h"

namespace airlock::testing {
namespace {

// Reads one response; returns its status (0 on a closed connection) and whether the server
// will close the connection.
int read_response(int fd, std::string& buffer, bool& closing) {
  closing = false;
  char chunk[16384];
  while (true) {
    auto head_end = buffer.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      std::string head = buffer.substr(0, head_end);
      std::size_t length = 0;
      for (std::size_t at = 0; (at = head.find("\r\n", at)) != std::string::npos;) {
        at += 2;
        std::string lower;
        for (std::size_t i = at; i < head.size() && head[i] != '\r'; ++i) lower.push_back(static_cast<char>(std::tolower(head[i])));
        if (lower.rfind("content-length:", 0) == 0) length = std::stoul(lower.substr(15));
        if (lower.rfind("connection: close", 0) == 0) closing = true;
      }
      if (buffer.size() >= head_end + 4 + length) {
        int status = head.size() > 12 ? std::atoi(head.c_str() + 9) : 0;
        buffer.erase(0, head_end + 4 + length);
        return status;
      }
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 30000) <= 0) return 0;
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return 0;
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
}

std::string post(const std::string& body, const std::string& path = "/v1/embeddings") {
  return "POST " + path + " HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

struct HostileRequests {
  std::vector<std::string> cheap;  // answered from the first bytes or a small parse
  std::vector<std::string> heavy;  // large bodies and targets: every 25th request
  const std::string& pick(int i) const {
    return i % 25 == 0 ? heavy[static_cast<std::size_t>(i / 25) % heavy.size()] : cheap[static_cast<std::size_t>(i) % cheap.size()];
  }
};

HostileRequests hostile_requests() {
  std::string ints = "[";
  for (int i = 0; i < 20000; ++i) ints += (i ? ",7" : "7");
  ints += "]";
  std::string strings = "[";
  for (int i = 0; i < 5000; ++i) strings += (i ? ",\"a\"" : "\"a\"");
  strings += "]";
  std::string headers = "GET /v1/health/live HTTP/1.1\r\nHost: t\r\n";
  for (int i = 0; i < 300; ++i) headers += "X-Bomb-" + std::to_string(i) + ": " + std::string(100, 'b') + "\r\n";
  headers += "\r\n";
  HostileRequests r;
  r.cheap = {
      post("{\"input\": ["),                                          // truncated JSON
      post("{\"input\": 42}"),                                        // wrong type
      post("{\"input\": [\"a\"], \"dimensions\": \"many\"}"),         // wrong type of a NIM field
      post("{\"input\": [\"a\", null, 3]}"),                          // mixed types
      post("{\"input\": \"\xff\xfe\xfd\"}"),                          // invalid UTF-8
      post("{\"input\": \"\xc0\xaf\"}"),                              // overlong UTF-8
      post("{\"input\": " + std::string(5000, '[') + "}"),            // deep nesting
      post("[]"),                                                     // not an object
      post(""),                                                       // empty body
      post("{\"query\": 5, \"passages\": {}}", "/v1/ranking"),        // wrong ranking types
      post("{\"input\": \"x\", \"model\": \"" + std::string(4000, 'm') + "\"}"),  // unknown, long model
      "POST /v1/embeddings HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999\r\n\r\n{",  // lying length
      "POST /v1/embeddings HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  // bad chunk
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", 22),  // TLS hello on plain HTTP
      headers,                                                             // header bomb
      "GET /v1/../../etc/passwd HTTP/1.1\r\nHost: t\r\n\r\n",              // path games
  };
  r.heavy = {
      post("{\"input\": " + ints + "}"),                              // one token array far over the model's limit
      post("{\"input\": " + strings + "}"),                           // too many inputs
      "GET /" + std::string(20000, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n",  // long request target
  };
  return r;
}

TEST(ServeHostile, FloodLeavesTheServerUpWithFlatMemory) {
  TempDir cache;
  Serve serve;
  ASSERT_TRUE(serve.start({"--model-profiles-path", embedding_store().uri, "--cache-dir", cache.path().string(),
                           "--payload-limit", "1MB", "--max-client-batch-size", "256"}))
      << serve.log();
  const HostileRequests kinds = hostile_requests();
  // The issue's 10,000 takes a minute in this sanitizer build on a shared 2-core machine;
  // AIRLOCK_SERVE_FLOOD=10000 runs the full count.
  int total = 2000;
  if (const char* scale = std::getenv("AIRLOCK_SERVE_FLOOD")) total = std::max(100, std::atoi(scale));

  std::atomic<int> answered{0}, failures{0}, bad_status{0};
  auto flood = [&](int count) {
    constexpr int kThreads = 8;
    std::vector<std::thread> threads;
    std::atomic<int> next{0};
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        int fd = -1;
        std::string buffer;
        for (int i; (i = next.fetch_add(1)) < count;) {
          if (fd < 0) {
            fd = connect_local(serve.port());
            buffer.clear();
          }
          const std::string& request = kinds.pick(i);
          bool closing = false;
          int status = send_all(fd, request) ? read_response(fd, buffer, closing) : 0;
          if (status == 0) {
            ++failures;
          } else {
            ++answered;
            if (status < 400 || status >= 500) ++bad_status;
          }
          if (status == 0 || closing) {
            ::close(fd);
            fd = -1;
          }
        }
        if (fd >= 0) ::close(fd);
      });
    }
    for (std::thread& t : threads) t.join();
  };

  flood(std::max(200, total / 10));  // warm up: pools, buffers and caches reach their size
  const long before = serve.rss_kb();

  // Slowloris: connections that promise a body and trickle a few bytes of it.
  std::vector<int> slow;
  for (int i = 0; i < 64; ++i) {
    int fd = connect_local(serve.port());
    ASSERT_GE(fd, 0);
    send_all(fd, "POST /v1/embeddings HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"inp");
    slow.push_back(fd);
  }
  answered = 0;
  failures = 0;
  bad_status = 0;
  const auto start = std::chrono::steady_clock::now();
  flood(total);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // A real request still gets its answer while the slow connections hang.
  Reply real = http("POST", serve.url() + "/v1/embeddings", R"({"input":["still serving"]})");
  EXPECT_EQ(real.status, 200) << real.body;
  for (int fd : slow) send_all(fd, "ut\": \"x\"");  // still open: the server has not dropped them early
  for (int fd : slow) ::close(fd);
  const long after = serve.rss_kb();

  EXPECT_EQ(failures.load(), 0) << "requests that got no answer";
  EXPECT_EQ(answered.load(), total);
  EXPECT_EQ(bad_status.load(), 0) << "hostile requests answered with something other than a 4xx";
  EXPECT_TRUE(serve.running()) << serve.log();
  EXPECT_EQ(http("GET", serve.url() + "/v1/health/ready").status, 200);
  // Flat: growth over the whole flood well under the bytes the flood sent (tens of MB).
  EXPECT_LT(after - before, 24 * 1024) << "resident memory grew from " << before << " kB to " << after << " kB";
  std::printf("flood: %d hostile requests in %.2fs (%.0f/s); resident memory %ld kB -> %ld kB\n", total, seconds, total / seconds,
              before, after);
  // Random paths are labelled "other": the metrics cannot be grown by a scan.
  Reply metrics = http("GET", serve.url() + "/v1/metrics");
  EXPECT_EQ(metrics.body.find("passwd"), std::string::npos);
  EXPECT_EQ(serve.terminate(), 0) << serve.log();
}

}  // namespace
}  // namespace airlock::testing
