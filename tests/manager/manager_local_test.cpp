// The local deployer as it supervises model processes (tests/manager/stand_in_serve.py in place
// of `airlock serve`, same flags and routes): start and readiness, the model proxy (keys,
// streaming, header hygiene), restart with back-off after a crash, Failed after a crash loop,
// scaling, a manager killed with -9 picking its running models up again, and delete.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>

#include "manager/child_process.h"
#include "manager_fixture.h"

namespace airlock::testing {
namespace {

using Clock = std::chrono::steady_clock;

class LocalDeployerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    manager_ = std::make_unique<ManagerProcess>(dir_.path() / "data");
    key_ = manager_->create_key("admin");
    ASSERT_TRUE(manager_->start()) << manager_->log();
  }

  // Creates a model served by the stand-in from `path`; returns the create response's data.
  Json create(const std::string& name, const std::string& path, int replicas = 1) {
    ApiResponse created = manager_->call("POST", "/api/v1/ai-models", key_,
                                         Json{{"name", name}, {"kind", "embedding"}, {"replicas", replicas},
                                              {"modelProfilesPath", "file://" + (dir_.path() / path).string()}});
    EXPECT_EQ(created.status, 201) << created.body;
    return created.json["data"];
  }
  Json wait_status(const std::string& id, const std::string& status, std::chrono::seconds limit = std::chrono::seconds(30)) {
    Json model = manager_->wait_for_model(id, key_, [&](const Json& m) { return m["status"] == status; }, limit);
    EXPECT_EQ(model["status"], status) << dump_json(model) << "\n" << manager_->log();
    return model;
  }
  std::vector<std::pair<pid_t, std::uint64_t>> processes(const std::string& id) {
    std::vector<std::pair<pid_t, std::uint64_t>> out;
    auto db = manager::open_manager_database(manager_->data_dir());
    if (!db.ok()) return out;
    auto rows = (*db)->query("SELECT pid, start_ticks FROM local_instances WHERE model_id = ? ORDER BY replica", {id});
    for (const auto& row : rows.value()) out.emplace_back(static_cast<pid_t>(row.integer(0)), row.integer(1));
    return out;
  }
  ApiResponse proxy(const std::string& id, const std::string& method, const std::string& path,
                    const std::optional<Json>& body, net::HttpHeaders headers) {
    return manager_->call(method, "/inferenceservices/" + id + path, "", body, std::move(headers));
  }
  static net::HttpHeaders bearer(const std::string& key) {
    net::HttpHeaders headers;
    headers.set("Authorization", "Bearer " + key);
    return headers;
  }

  TempDir dir_;
  std::unique_ptr<ManagerProcess> manager_;
  std::string key_;
};

TEST_F(LocalDeployerTest, StartsProbesAndProxiesWithTheModelsKey) {
  Json model = create("stand-in-a", "stores/a");
  const std::string id = model["id"];
  const std::string model_key = model["apiKey"];
  EXPECT_EQ(model["status"], "Pending");
  Json ready = wait_status(id, "Ready");
  EXPECT_EQ(ready["endpoint"], manager_->url() + "/inferenceservices/" + id);
  EXPECT_EQ(ready["cache"]["profile"], "stand-in-profile");  // read from the runtime's /v1/metadata
  EXPECT_NE(ready["cache"]["path"].get<std::string>().find(id), std::string::npos);
  ASSERT_EQ(processes(id).size(), 1u);

  const Json request = {{"input", Json::array({"hello from the air gap"})}, {"model", "stand-in-a"}};
  ApiResponse ok = proxy(id, "POST", "/v1/embeddings", request, bearer(model_key));
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json["data"][0]["embedding"].size(), 8u);

  net::HttpHeaders with_access;
  with_access.set("x-access-key", key_);
  EXPECT_EQ(proxy(id, "POST", "/v1/embeddings", request, with_access).status, 200);
  EXPECT_TRUE(is_error(proxy(id, "POST", "/v1/embeddings", request, {}), 401, "API key"));
  EXPECT_TRUE(is_error(proxy(id, "POST", "/v1/embeddings", request, bearer("amk_nonsense")), 401));
  EXPECT_TRUE(is_error(proxy("m-nosuchmodel", "POST", "/v1/embeddings", request, bearer(model_key)), 404));

  // Another model's key opens only that model.
  Json other = create("stand-in-b", "stores/b", 0);
  EXPECT_TRUE(is_error(proxy(id, "POST", "/v1/embeddings", request, bearer(other["apiKey"])), 403, "another model"));
  EXPECT_TRUE(is_error(proxy(other["id"], "POST", "/v1/embeddings", request, bearer(other["apiKey"])), 409, "not deployed"));

  // The runtime sees the manager's upstream key, never the caller's key or access key; the path
  // and query arrive as sent.
  net::HttpHeaders both = bearer(model_key);
  both.set("x-access-key", key_);
  both.set("X-Request-Id", "req-42");
  ApiResponse echo = proxy(id, "POST", "/v1/echo?a=1&b=%2F", Json{{"x", 1}}, both);
  ASSERT_EQ(echo.status, 200) << echo.body;
  EXPECT_EQ(echo.json["path"], "/v1/echo?a=1&b=%2F");
  const Json& seen = echo.json["headers"];
  EXPECT_NE(seen["authorization"], "Bearer " + model_key);
  EXPECT_TRUE(seen["authorization"].get<std::string>().starts_with("Bearer aup_"));
  EXPECT_FALSE(seen.contains("x-access-key"));
  EXPECT_EQ(seen["x-request-id"], "req-42");
  EXPECT_EQ(echo.json["body"], "{\"x\":1}");
  // Errors of the runtime pass through unchanged.
  ApiResponse missing = proxy(id, "GET", "/v1/nothing-here", std::nullopt, bearer(model_key));
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("no route"), std::string::npos);

  // Streaming: chunks arrive as the runtime writes them (100 ms apart), not all at the end.
  std::vector<Clock::duration> arrivals;
  const auto start = Clock::now();
  net::HttpRequest stream = net::HttpRequest::get(manager_->url() + "/inferenceservices/" + id + "/v1/stream");
  stream.headers.set("Authorization", "Bearer " + model_key);
  std::string streamed;
  net::HttpSink sink;
  sink.on_headers = [](int, const net::HttpHeaders&) { return ok_status(); };
  sink.on_data = [&](std::string_view bytes) {
    arrivals.push_back(Clock::now() - start);
    streamed += bytes;
    return ok_status();
  };
  auto streamed_response = test_client()->send(std::move(stream), sink);
  ASSERT_TRUE(streamed_response.ok());
  EXPECT_EQ(streamed_response->status, 200);
  EXPECT_NE(streamed.find("part 4"), std::string::npos);
  ASSERT_GE(arrivals.size(), 2u) << streamed;
  EXPECT_GE(arrivals.back() - arrivals.front(), std::chrono::milliseconds(250));
}

TEST_F(LocalDeployerTest, RestartsACrashedRuntimeAndFailsACrashLoop) {
  Json model = create("restarts", "stores/r");
  const std::string id = model["id"];
  wait_status(id, "Ready");
  const auto before = processes(id);
  ASSERT_EQ(before.size(), 1u);
  ::kill(before[0].first, SIGKILL);
  Json restarted = manager_->wait_for_model(id, key_, [&](const Json& m) {
    const auto now = processes(id);
    return m["status"] == "Ready" && now.size() == 1 && now[0].first != before[0].first;
  });
  EXPECT_EQ(restarted["status"], "Ready") << dump_json(restarted) << manager_->log();
  EXPECT_NE(manager_->log().find("signal 9"), std::string::npos);

  Json crash = create("crash-loop", "stores/crash");
  Json failed = wait_status(crash["id"], "Failed", std::chrono::seconds(40));
  const std::string message = failed["statusMessage"];
  EXPECT_NE(message.find("exit code 3"), std::string::npos) << message;
  EXPECT_NE(message.find("stand-in crash"), std::string::npos) << message;  // the runtime's own last words
  EXPECT_NE(message.find("times in a row"), std::string::npos) << message;
  // Back-off: 200 ms doubling, five failures take well over a second, not a hot loop.
  const std::string log = manager_->log();
  std::size_t starts = 0;
  for (std::size_t at = log.find("crash-loop: started"); at != std::string::npos; at = log.find("crash-loop: started", at + 1)) {
    ++starts;
  }
  EXPECT_GE(starts, 5u);
  EXPECT_LE(starts, 12u);
}

TEST_F(LocalDeployerTest, ScalesAndStopsOnDelete) {
  Json model = create("scaled", "stores/s", 2);
  const std::string id = model["id"];
  wait_status(id, "Ready");
  ASSERT_EQ(processes(id).size(), 2u);
  ApiResponse patched = manager_->call("PATCH", "/api/v1/ai-models/" + id, key_, Json{{"replicas", 0}});
  ASSERT_EQ(patched.status, 200) << patched.body;
  Json stopped = wait_status(id, "Unknown");
  EXPECT_NE(stopped["statusMessage"].get<std::string>().find("zero replicas"), std::string::npos);
  EXPECT_TRUE(processes(id).empty());

  ASSERT_EQ(manager_->call("PATCH", "/api/v1/ai-models/" + id, key_, Json{{"replicas", 1}}).status, 200);
  wait_status(id, "Ready");
  const auto running = processes(id);
  ASSERT_EQ(running.size(), 1u);
  ApiResponse deleted = manager_->call("DELETE", "/api/v1/ai-models/" + id, key_);
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  // DELETE returns once the process is gone, and its directory with it.
  EXPECT_FALSE(manager::process_is(running[0].first, running[0].second));
  EXPECT_FALSE(fs::exists(manager_->data_dir() / "models" / id));
  EXPECT_TRUE(processes(id).empty());
}

TEST_F(LocalDeployerTest, AManagerKilledWithSigkillPicksItsModelsUpAgain) {
  Json model = create("survivor", "stores/v");
  const std::string id = model["id"];
  wait_status(id, "Ready");
  const auto before = processes(id);
  ASSERT_EQ(before.size(), 1u);
  // A committed change survives kill -9 too.
  ASSERT_EQ(manager_->call("PATCH", "/api/v1/ai-models/" + id, key_, Json{{"description", "written just before"}}).status, 200);

  manager_->stop(SIGKILL);
  EXPECT_TRUE(manager::process_is(before[0].first, before[0].second));  // the model kept running
  ASSERT_TRUE(manager_->start()) << manager_->log();
  Json again = wait_status(id, "Ready");
  EXPECT_EQ(again["description"], "written just before");
  const auto after = processes(id);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0], before[0]) << "the running process was restarted instead of picked up";
  EXPECT_NE(manager_->log().find("picked up replica 0"), std::string::npos);
  ApiResponse ok = proxy(id, "POST", "/v1/embeddings", Json{{"input", "x"}}, bearer(model["apiKey"]));
  EXPECT_EQ(ok.status, 200) << ok.body;

  // A graceful stop with --stop-models-on-exit ends them; a start brings them back.
  EXPECT_EQ(manager_->stop(SIGTERM), 0);
  ASSERT_TRUE(manager_->start({"--stop-models-on-exit"})) << manager_->log();
  wait_status(id, "Ready");
  const auto third = processes(id);
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0], before[0]);
  EXPECT_EQ(manager_->stop(SIGTERM), 0);
  EXPECT_FALSE(manager::process_is(before[0].first, before[0].second));
}

}  // namespace
}  // namespace airlock::testing
