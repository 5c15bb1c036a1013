// The API of `airlock serve` as clients see it: the operators' curl | jq smoke test, `airlock
// smoke`, every route, the NIM fields, vectors equal to the engine's, and every error status.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <future>
#include <thread>

#include "core/base64.h"
#include "serve_fixture.h"

namespace airlock::testing {
namespace {

constexpr const char* kKey = "test-key-one";
const std::map<std::string, std::string> kAuth = {{"Authorization", std::string("Bearer ") + kKey}};

class ServeApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    serve_ = new Serve();
    ASSERT_TRUE(serve_->start({"--model-profiles-path", embedding_store().uri, "--cache-dir", (cache_.path() / "c").string(),
                               "--payload-limit", "64KiB", "--max-client-batch-size", "64"},
                              {{"AIRLOCK_API_KEYS", std::string(kKey) + ",test-key-two"}}))
        << serve_->log();
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(serve_->terminate(), 0) << serve_->log();
    delete serve_;
  }
  static Reply post(const std::string& path, const std::string& body, const std::map<std::string, std::string>& headers = kAuth) {
    return http("POST", serve_->url() + path, body, headers);
  }
  static Serve* serve_;
  static TempDir cache_;
};

Serve* ServeApiTest::serve_ = nullptr;
TempDir ServeApiTest::cache_;

std::vector<float> floats(const Json& array) { return array.get<std::vector<float>>(); }

void expect_close(const std::vector<float>& a, const std::vector<float>& b, float tolerance = 1e-5f) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], tolerance) << "component " << i;
}

double norm(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return std::sqrt(s);
}

void expect_error(const Reply& reply, int status, const std::string& code) {
  EXPECT_EQ(reply.status, status) << reply.body;
  Json body = reply.json();
  ASSERT_TRUE(body.is_object() && body.contains("error")) << reply.body;
  EXPECT_EQ(body["error"]["code"], code) << reply.body;
  EXPECT_TRUE(body["error"]["message"].is_string());
  EXPECT_TRUE(body["error"].contains("type"));
}

TEST_F(ServeApiTest, OperatorsCurlJqSmokeTest) {
  CommandResult r = run_command(
      {"bash", "-c",
       R"(curl -sS -X POST "$ENDPOINT/v1/embeddings" -H "Authorization: Bearer $API_KEY" -H "Content-Type: application/json" -d '{"input":["hello from the air gap"]}' | jq '.data[0].embedding | length')"},
      {{"ENDPOINT", serve_->url()}, {"API_KEY", kKey}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "128\n");
}

TEST_F(ServeApiTest, SmokeCommand) {
  CommandResult r = run_command({airlock_binary().string(), "smoke", serve_->url(), "--api-key", kKey});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("length 128"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(kKey), std::string::npos);
  CommandResult wrong = run_command({airlock_binary().string(), "smoke", serve_->url() + "/v1", "--api-key", "nope"});
  EXPECT_EQ(wrong.exit_code, 3) << wrong.out << wrong.err;
  EXPECT_NE(wrong.err.find("401"), std::string::npos) << wrong.err;
}

TEST_F(ServeApiTest, VectorsMatchTheEngine) {
  const std::string text = "The quick brown fox jumps over the lazy dog";
  Reply reply = post("/v1/embeddings", Json{{"input", Json::array({text, "second input"})}, {"model", "airlock/demo-embedding"}}.dump());
  ASSERT_EQ(reply.status, 200) << reply.body;
  Json body = reply.json();
  EXPECT_EQ(body["object"], "list");
  EXPECT_EQ(body["model"], "airlock/demo-embedding");
  ASSERT_EQ(body["data"].size(), 2u);
  EXPECT_EQ(body["data"][1]["index"], 1);
  EXPECT_EQ(body["data"][0]["object"], "embedding");
  EXPECT_GT(body["usage"]["prompt_tokens"].get<int>(), 10);
  EXPECT_EQ(body["usage"]["prompt_tokens"], body["usage"]["total_tokens"]);
  expect_close(floats(body["data"][0]["embedding"]), engine_embedding(embedding_store().model_dir, text));

  // base64: the same floats, little-endian float32.
  Reply b64 = post("/v1/embeddings", Json{{"input", text}, {"encoding_format", "base64"}}.dump());
  ASSERT_EQ(b64.status, 200) << b64.body;
  auto bytes = base64_decode(b64.json()["data"][0]["embedding"].get<std::string>());
  ASSERT_TRUE(bytes.ok());
  std::vector<float> decoded(bytes->size() / 4);
  std::memcpy(decoded.data(), bytes->data(), bytes->size());
  expect_close(decoded, floats(body["data"][0]["embedding"]), 0);
}

TEST_F(ServeApiTest, NimInputTypeAndSuffixAndDimensions) {
  const std::string text = "where is the model cache";
  auto embed = [&](const Json& extra) {
    Json request = {{"input", text}};
    if (extra.is_object()) request.update(extra);
    Reply reply = post("/v1/embeddings", request.dump());
    EXPECT_EQ(reply.status, 200) << reply.body;
    return floats(reply.json()["data"][0]["embedding"]);
  };
  std::vector<float> query = embed({{"input_type", "query"}});
  expect_close(query, embed({{"model", "airlock/demo-embedding-query"}}), 0);
  expect_close(query, engine_embedding(embedding_store().model_dir, text, {"--input-type", "query"}));
  std::vector<float> passage = embed({{"model", "airlock/demo-embedding-passage"}});
  expect_close(passage, embed({{"input_type", "passage"}}), 0);
  EXPECT_NE(query, passage);
  std::vector<float> plain = embed({});
  EXPECT_NE(plain, query);

  std::vector<float> short_vector = embed({{"dimensions", 32}});
  ASSERT_EQ(short_vector.size(), 32u);
  EXPECT_NEAR(norm(short_vector), 1.0, 1e-5);
  expect_error(post("/v1/embeddings", Json{{"input", text}, {"dimensions", 129}}.dump()), 400, "invalid_request");
}

TEST_F(ServeApiTest, TokenArraysAndTruncation) {
  Reply ids = post("/v1/embeddings", R"({"input":[[2,100,200,3],[2,300,3]]})");
  ASSERT_EQ(ids.status, 200) << ids.body;
  EXPECT_EQ(ids.json()["data"].size(), 2u);
  EXPECT_EQ(ids.json()["usage"]["prompt_tokens"], 7);

  std::string long_text;
  for (int i = 0; i < 400; ++i) long_text += "cache ";
  Reply strict = post("/v1/embeddings", Json{{"input", long_text}}.dump());
  expect_error(strict, 422, "context_length_exceeded");
  EXPECT_NE(strict.json()["error"]["message"].get<std::string>().find("exceeds maximum allowed token size 256"), std::string::npos);
  Reply end = post("/v1/embeddings", Json{{"input", long_text}, {"truncate", "END"}}.dump());
  ASSERT_EQ(end.status, 200) << end.body;
  EXPECT_EQ(end.json()["usage"]["prompt_tokens"], 256);
  EXPECT_EQ(post("/v1/embeddings", Json{{"input", long_text}, {"truncate", "START"}}.dump()).status, 200);
}

TEST_F(ServeApiTest, ModelsHealthMetadataManifestMetrics) {
  ASSERT_EQ(post("/v1/embeddings", R"({"input":"counted"})").status, 200);
  Reply models = http("GET", serve_->url() + "/v1/models", "", kAuth);
  ASSERT_EQ(models.status, 200);
  EXPECT_EQ(models.json()["object"], "list");
  EXPECT_EQ(models.json()["data"][0]["id"], "airlock/demo-embedding");
  Reply ready = http("GET", serve_->url() + "/v1/health/ready");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.json(), (Json{{"object", "health.response"}, {"message", "ready"}, {"ready", true}}));
  EXPECT_EQ(http("GET", serve_->url() + "/v1/health/live").status, 200);

  Reply metadata = http("GET", serve_->url() + "/v1/metadata", "", kAuth);
  ASSERT_EQ(metadata.status, 200);
  Json meta = metadata.json();
  ASSERT_TRUE(meta["selectedModelProfileId"].is_string());
  EXPECT_EQ(meta["selectedModelProfile"]["tags"]["engine"], "airlock");
  EXPECT_EQ(meta["selectedModelProfile"]["tags"]["device"], "cpu");
  EXPECT_EQ(meta["model"]["dimensions"], 128);
  EXPECT_EQ(meta["model"]["kind"], "embedding");
  EXPECT_TRUE(meta["version"].is_string());

  Reply manifest = http("GET", serve_->url() + "/v1/manifest", "", kAuth);
  ASSERT_EQ(manifest.status, 200);
  bool found = false;
  const Json profiles = manifest.json()["profiles"];
  for (const Json& p : profiles) found = found || p["id"] == meta["selectedModelProfileId"];
  EXPECT_TRUE(found) << manifest.body;

  Reply metrics = http("GET", serve_->url() + "/v1/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.headers["content-type"].find("text/plain"), std::string::npos);
  for (const char* name : {"airlock_requests_total{route=\"/v1/embeddings\",method=\"POST\",status=\"200\"}",
                           "airlock_request_duration_seconds_bucket{route=\"/v1/embeddings\"", "airlock_queue_depth",
                           "airlock_batch_inputs_bucket", "airlock_tokens_total", "airlock_model_load_seconds", "airlock_ready 1"}) {
    EXPECT_NE(metrics.body.find(name), std::string::npos) << name;
  }
}

TEST_F(ServeApiTest, EveryErrorStatusInTheOpenAiShape) {
  // 400: malformed JSON, wrong types, empty input.
  expect_error(post("/v1/embeddings", "{\"input\": [\"unterminated"), 400, "invalid_request");
  Reply wrong = post("/v1/embeddings", R"({"input":[1.5]})");
  EXPECT_EQ(wrong.status, 400);
  expect_error(post("/v1/embeddings", R"({"input":["ok", {"x":1}]})"), 400, "invalid_request");
  EXPECT_EQ(post("/v1/embeddings", R"({"input":["ok", {"x":1}]})").json()["error"]["param"], "input[1]");
  // 401: missing, wrong, other scheme; the second key works too.
  Reply missing = post("/v1/embeddings", R"({"input":"x"})", {});
  expect_error(missing, 401, "invalid_api_key");
  EXPECT_EQ(missing.headers["www-authenticate"], "Bearer");
  expect_error(post("/v1/embeddings", R"({"input":"x"})", {{"Authorization", "Bearer test-key-three"}}), 401, "invalid_api_key");
  expect_error(post("/v1/embeddings", R"({"input":"x"})", {{"Authorization", std::string("Basic ") + kKey}}), 401, "invalid_api_key");
  EXPECT_EQ(post("/v1/embeddings", R"({"input":"x"})", {{"Authorization", "Bearer test-key-two"}}).status, 200);
  EXPECT_EQ(http("GET", serve_->url() + "/v1/models").status, 401);
  // 404: unknown model, unknown route, ranking on an embedding model.
  Reply unknown = post("/v1/embeddings", R"({"input":"x","model":"gpt-4"})");
  expect_error(unknown, 404, "model_not_found");
  EXPECT_EQ(unknown.json()["error"]["param"], "model");
  expect_error(http("GET", serve_->url() + "/v1/nothing", "", kAuth), 404, "not_found");
  expect_error(post("/v1/ranking", R"({"query":{"text":"q"},"passages":[{"text":"p"}]})"), 404, "not_found");
  // 413: body over --payload-limit, more inputs than --max-client-batch-size.
  expect_error(post("/v1/embeddings", Json{{"input", std::string(70 * 1024, 'a')}}.dump()), 413, "content_too_large");
  expect_error(post("/v1/embeddings", Json{{"input", std::vector<std::string>(65, "a")}}.dump()), 413, "request_too_large");
  // 405 with Allow for a wrong method.
  EXPECT_EQ(http("GET", serve_->url() + "/v1/embeddings", "", kAuth).status, 405);
}

// A gauge or counter of /v1/metrics (-1 when absent).
double metric(const Serve& serve, const std::string& name) {
  const std::string text = http("GET", serve.url() + "/v1/metrics").body;
  const std::string key = "\n" + name + " ";
  auto at = text.find(key);
  return at == std::string::npos ? -1 : std::stod(text.substr(at + key.size()));
}

// Polls until the metric reaches `value` (or 30 s pass).
bool wait_metric(const Serve& serve, const std::string& name, double value) {
  for (int i = 0; i < 300; ++i) {
    if (metric(serve, name) == value) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

std::string heavy_request(int inputs) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "storage ";
  return Json{{"input", std::vector<std::string>(static_cast<std::size_t>(inputs), text)}, {"truncate", "END"}}.dump();
}

// 429 at once beyond --max-concurrent-requests, and clients that leave are dropped from the queue.
TEST(ServeLimits, OverloadIs429AndDroppedClientsLeaveTheQueue) {
  TempDir cache;
  Serve serve;
  ASSERT_TRUE(serve.start({"--model-profiles-path", embedding_store().uri, "--cache-dir", cache.path().string(),
                           "--max-concurrent-requests", "2", "--executors", "1"}))
      << serve.log();
  const std::string heavy = heavy_request(48);
  auto first = std::async(std::launch::async, [&] { return http("POST", serve.url() + "/v1/embeddings", heavy); });
  ASSERT_TRUE(wait_metric(serve, "airlock_requests_running", 1));
  auto second = std::async(std::launch::async, [&] { return http("POST", serve.url() + "/v1/embeddings", R"({"input":"queued"})"); });
  ASSERT_TRUE(wait_metric(serve, "airlock_queue_depth", 1));
  // One running, one queued: the limit. The next is refused at once, not parked.
  Reply refused = http("POST", serve.url() + "/v1/embeddings", R"({"input":"one too many"})");
  expect_error(refused, 429, "overloaded");
  EXPECT_EQ(refused.headers["retry-after"], "1");
  EXPECT_EQ(first.get().status, 200);
  EXPECT_EQ(second.get().status, 200);
  EXPECT_EQ(metric(serve, "airlock_requests_rejected_total"), 1);

  // A client that sends its request and goes away while it waits: its work is dropped, not
  // computed. (The executor may finish the busy batch before the server has seen the client
  // leave on a loaded machine: up to three tries.)
  bool dropped = false;
  for (int attempt = 0; attempt < 3 && !dropped; ++attempt) {
    // The previous requests are answered before their batch slot is given back: wait for it.
    ASSERT_TRUE(wait_metric(serve, "airlock_requests_running", 0));
    auto busy = std::async(std::launch::async, [&] { return http("POST", serve.url() + "/v1/embeddings", heavy); });
    ASSERT_TRUE(wait_metric(serve, "airlock_requests_running", 1));
    const double inputs_before = metric(serve, "airlock_inputs_total");
    const double dropped_before = metric(serve, "airlock_requests_dropped_total");
    int leaver = connect_local(serve.port());
    ASSERT_GE(leaver, 0);
    ASSERT_TRUE(send_all(leaver, "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: 15\r\n\r\n{\"input\":\"bye\"}"));
    EXPECT_TRUE(wait_metric(serve, "airlock_queue_depth", 1));
    ::close(leaver);
    EXPECT_EQ(busy.get().status, 200);
    wait_metric(serve, "airlock_queue_depth", 0);
    dropped = metric(serve, "airlock_requests_dropped_total") == dropped_before + 1 &&
              metric(serve, "airlock_inputs_total") == inputs_before + 48;  // the busy request's inputs only
  }
  EXPECT_TRUE(dropped) << http("GET", serve.url() + "/v1/metrics").body;
  EXPECT_EQ(serve.terminate(), 0) << serve.log();
}

// SIGTERM: readiness turns 503, the request in flight still gets its answer, exit 0.
TEST(ServeLimits, GracefulShutdownFinishesRequestsInFlight) {
  TempDir cache;
  Serve serve;
  ASSERT_TRUE(serve.start({"--model-profiles-path", embedding_store().uri, "--cache-dir", cache.path().string(), "--executors", "1"}))
      << serve.log();
  const std::string heavy = heavy_request(64);
  auto in_flight = std::async(std::launch::async, [&] { return http("POST", serve.url() + "/v1/embeddings", heavy); });
  ASSERT_TRUE(wait_metric(serve, "airlock_requests_running", 1));
  ::kill(serve.pid(), SIGTERM);
  Reply answered = in_flight.get();
  EXPECT_EQ(answered.status, 200) << answered.body;
  EXPECT_EQ(answered.json()["data"].size(), 64u);
  auto code = serve.wait_exit(std::chrono::seconds(60));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << serve.log();
  EXPECT_NE(serve.log().find("Stopped"), std::string::npos) << serve.log();
}

// 503 while the model is not ready, and a store that cannot be reached is a clear startup error.
TEST(ServeStartup, NotReadyIs503AndAnUnreachableStoreFailsClearly) {
  TempDir cache;
  Serve serve;
  const int closed = free_port();
  ASSERT_TRUE(serve.start({"--model-profiles-path", "s3://models/demo", "--endpoint-url", "http://127.0.0.1:" + std::to_string(closed),
                           "--cache-dir", cache.path().string()},
                          {{"AWS_ACCESS_KEY_ID", "x"}, {"AWS_SECRET_ACCESS_KEY", "y"}}, false))
      << serve.log();
  Reply ready = http("GET", serve.url() + "/v1/health/ready");
  expect_error(ready, 503, "not_ready");
  EXPECT_NE(ready.json()["error"]["message"].get<std::string>().find("pulling"), std::string::npos) << ready.body;
  expect_error(http("POST", serve.url() + "/v1/embeddings", R"({"input":"x"})"), 503, "not_ready");
  EXPECT_EQ(http("GET", serve.url() + "/v1/health/live").status, 200);
  auto code = serve.wait_exit(std::chrono::seconds(90));
  ASSERT_TRUE(code.has_value()) << "serve kept running with an unreachable store";
  EXPECT_NE(*code, 0);
  EXPECT_NE(serve.log().find("s3://models/demo"), std::string::npos) << serve.log();
}

TEST(ServeStartup, CorruptStoreObjectIsAnErrorNamingTheFile) {
  TempDir work;
  // A copy of the store with one blob changed (same size, other bytes).
  std::filesystem::copy(embedding_store().workdir / "store", work.path() / "store", std::filesystem::copy_options::recursive);
  std::filesystem::path victim;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(work.path() / "store")) {
    if (entry.is_regular_file() && entry.path().parent_path().filename() == "blobs" &&
        (victim.empty() || entry.file_size() > std::filesystem::file_size(victim))) {
      victim = entry.path();
    }
  }
  ASSERT_FALSE(victim.empty());
  std::string bytes = read_text(victim);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);
  write_text(victim, bytes);
  Serve serve;
  serve.start({"--model-profiles-path", "file://" + (work.path() / "store").string(), "--cache-dir", (work.path() / "cache").string()},
              {}, true, std::chrono::seconds(60));
  auto code = serve.wait_exit(std::chrono::seconds(60));
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_NE(serve.log().find(victim.filename().string()), std::string::npos) << serve.log();
}

TEST(ServeReranker, RankingAndRerankRoutes) {
  TempDir cache;
  Serve serve;
  ASSERT_TRUE(serve.start({"--model-profiles-path", reranker_store().uri, "--cache-dir", cache.path().string(),
                           "--served-model-name", "ranker"}))
      << serve.log();
  Reply ranking = http("POST", serve.url() + "/v1/ranking",
                       R"({"model":"ranker","query":{"text":"air gap"},"passages":[{"text":"an air gap"},{"text":"bread"},{"text":"gap"}],"truncate":"END"})");
  ASSERT_EQ(ranking.status, 200) << ranking.body;
  Json rankings = ranking.json()["rankings"];
  ASSERT_EQ(rankings.size(), 3u);
  EXPECT_GE(rankings[0]["logit"].get<double>(), rankings[1]["logit"].get<double>());
  EXPECT_GE(rankings[1]["logit"].get<double>(), rankings[2]["logit"].get<double>());
  // The same scores as `airlock rank` computes.
  CommandResult rank = run_command({airlock_binary().string(), "rank", "--model", reranker_store().model_dir.string(), "--json",
                                    "--query", "air gap", "an air gap", "bread", "gap"});
  ASSERT_EQ(rank.exit_code, 0) << rank.err;
  Json engine = parse_json(rank.out, "rank").value_or(Json());
  ASSERT_EQ(engine["rankings"].size(), 3u) << rank.out;
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(engine["rankings"][i]["index"], rankings[i]["index"]);
    EXPECT_NEAR(engine["rankings"][i]["logit"].get<double>(), rankings[i]["logit"].get<double>(), 1e-4);
  }
  Reply rerank = http("POST", serve.url() + "/rerank", R"({"query":"air gap","texts":["an air gap","bread"],"return_text":true})");
  ASSERT_EQ(rerank.status, 200) << rerank.body;
  ASSERT_TRUE(rerank.json().is_array());
  EXPECT_TRUE(rerank.json()[0].contains("text"));
  double score = rerank.json()[0]["score"].get<double>();
  EXPECT_GT(score, 0.0);
  EXPECT_LT(score, 1.0);
  expect_error(http("POST", serve.url() + "/v1/embeddings", R"({"input":"x"})"), 404, "not_found");
  EXPECT_EQ(serve.terminate(), 0);
}

}  // namespace
}  // namespace airlock::testing

namespace airlock::testing {
namespace {

// HTTPS with --tls-cert/--tls-key: `airlock smoke` (and curl) reach it with the CA; plain HTTP does not.
TEST(ServeTls, ServesHttpsWithTheGivenCertificate) {
  TempDir work;
  const std::string cert = (work.path() / "cert.pem").string(), key = (work.path() / "key.pem").string();
  CommandResult made = run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"});
  if (made.exit_code != 0) GTEST_SKIP() << "the openssl command is not available to make a test certificate: " << made.err;
  const int port = free_port();
  const std::string url = "https://127.0.0.1:" + std::to_string(port);
  pid_t pid = spawn_background({airlock_binary().string(), "serve", "--host", "127.0.0.1", "--port", std::to_string(port),
                                "--model-profiles-path", embedding_store().uri, "--cache-dir", (work.path() / "cache").string(),
                                "--tls-cert", cert, "--tls-key", key},
                               work.path() / "serve.log", {{"AIRLOCK_API_KEYS", "tls-key"}});
  CommandResult smoke;
  for (int i = 0; i < 300; ++i) {
    smoke = run_command({airlock_binary().string(), "smoke", url, "--api-key", "tls-key", "--ca-bundle", cert, "--timeout", "5"});
    if (smoke.exit_code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(smoke.exit_code, 0) << smoke.out << smoke.err << read_text(work.path() / "serve.log");
  EXPECT_NE(smoke.out.find("length 128"), std::string::npos) << smoke.out;
  // Without the CA the certificate is refused; plain HTTP on the TLS port gets no answer.
  EXPECT_NE(run_command({airlock_binary().string(), "smoke", url, "--api-key", "tls-key", "--timeout", "5"}).exit_code, 0);
  EXPECT_EQ(http("GET", "http://127.0.0.1:" + std::to_string(port) + "/v1/health/live").status, 0);
  ::kill(pid, SIGTERM);
  EXPECT_EQ(wait_for(pid), 0) << read_text(work.path() / "serve.log");
}

}  // namespace
}  // namespace airlock::testing

namespace airlock::testing {
namespace {

// --precision int8 (an operator's override of the profile's fp32 tag, on CPUs with VNNI): the
// server answers with the vectors `airlock embed --precision int8` computes, within the issue's
// cosine of fp32, and says so at startup.
TEST(ServePrecision, Int8OverridesTheProfilesPrecision) {
  const std::string text = "int8 at the end of the air gap";
  CommandResult probe = run_command({airlock_binary().string(), "embed", "--model", embedding_store().model_dir.string(),
                                     "--precision", "int8", "probe"});
  if (probe.exit_code != 0 && probe.err.find("int8 needs a CPU with") != std::string::npos) {
    GTEST_SKIP() << "this CPU has no VNNI: " << probe.err;
  }
  ASSERT_EQ(probe.exit_code, 0) << probe.err;
  TempDir cache;
  Serve serve;
  ASSERT_TRUE(serve.start({"--model-profiles-path", embedding_store().uri, "--cache-dir", cache.path().string()},
                          {{"AIRLOCK_PRECISION", "int8"}}))
      << serve.log();
  EXPECT_NE(serve.log().find("Precision: int8 (--precision or AIRLOCK_PRECISION), instead of the profile's fp32"),
            std::string::npos)
      << serve.log();
  EXPECT_NE(serve.log().find(", int8, oneDNN"), std::string::npos) << serve.log();  // the backend line
  Reply reply = http("POST", serve.url() + "/v1/embeddings", Json{{"input", text}}.dump());
  ASSERT_EQ(reply.status, 200) << reply.body;
  std::vector<float> got = floats(reply.json()["data"][0]["embedding"]);
  expect_close(got, engine_embedding(embedding_store().model_dir, text, {"--precision", "int8"}), 1e-5f);
  std::vector<float> fp32 = engine_embedding(embedding_store().model_dir, text);
  ASSERT_EQ(got.size(), fp32.size());
  double dot = 0;
  for (std::size_t i = 0; i < got.size(); ++i) dot += static_cast<double>(got[i]) * fp32[i];
  EXPECT_GE(dot / (norm(got) * norm(fp32)), 0.99);
  EXPECT_NE(got, fp32);
  EXPECT_EQ(serve.terminate(), 0);
  // A value airlock does not run is refused before anything is pulled.
  Serve bad;
  EXPECT_FALSE(bad.start({"--model-profiles-path", embedding_store().uri, "--cache-dir", cache.path().string(),
                          "--precision", "int4"},
                         {}, true, std::chrono::seconds(30)));
  EXPECT_NE(bad.log().find("--precision must be fp32, bf16, fp16 or int8 (got \"int4\")"), std::string::npos) << bad.log();
}

// The demo profile's files sit in one snapshot each, so serve lays them out in a private
// directory of symlinks: removed when it stops, and removed by the next start when a serve was
// killed before it could clean up.
TEST(ServeStartup, WorkspaceDirectoriesAreCleanedUp) {
  TempDir tmp, cache;
  pid_t dead = spawn_background({"true"}, tmp.path() / "true.log");
  wait_for(dead);
  const auto stale = tmp.path() / ("airlock-workspace-0123456789ab-" + std::to_string(dead) + "-AbCdEf");
  std::filesystem::create_directories(stale / "1_Pooling");
  Serve serve;
  ASSERT_TRUE(serve.start({"--model-profiles-path", embedding_store().uri, "--cache-dir", cache.path().string()},
                          {{"TMPDIR", tmp.path().string()}}))
      << serve.log();
  EXPECT_FALSE(std::filesystem::exists(stale));
  auto workspaces = [&] {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(tmp.path())) {
      if (e.path().filename().string().starts_with("airlock-workspace-")) names.push_back(e.path().filename().string());
    }
    return names;
  };
  ASSERT_EQ(workspaces().size(), 1u);
  EXPECT_NE(workspaces()[0].find("-" + std::to_string(serve.pid()) + "-"), std::string::npos);
  EXPECT_EQ(serve.terminate(), 0);
  EXPECT_TRUE(workspaces().empty());
}

}  // namespace
}  // namespace airlock::testing
