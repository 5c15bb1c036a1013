// The manager with the real runtime: a demo model's cache made by `airlock quickstart
// --no-serve` (random weights, real BERT architecture and tokenizer), pushed by this test with
// `airlock push` to a file:// store, created as a model through the API, deployed by the local
// deployer as a real `airlock serve` child, Ready, a smoke request through the model proxy,
// deleted. Skipped, saying why, while `airlock serve` is not in the build.
#include <gtest/gtest.h>

#include "manager/child_process.h"
#include "manager_fixture.h"

namespace airlock::testing {
namespace {

TEST(ManagerEndToEnd, RealServeFromAPushedStoreThroughTheProxy) {
  CommandResult help = run_command({airlock_binary().string(), "serve", "--help"});
  if (help.exit_code != 0) {
    GTEST_SKIP() << "`airlock serve` is not in this build (airlock serve --help exited " << help.exit_code
                 << "): the local deployer is covered with the stand-in runtime by manager_local_test";
  }
  TempDir dir;
  CommandResult made = run_command({airlock_binary().string(), "--quiet", "quickstart", "--model", "demo", "--workdir",
                                    (dir.path() / "demo").string(), "--no-serve"});
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  const std::string store = "file://" + (dir.path() / "pushed").string();
  CommandResult pushed = run_command({airlock_binary().string(), "push", (dir.path() / "demo" / "cache").string(), store});
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;

  ManagerProcess manager(dir.path() / "data");
  const std::string key = manager.create_key("admin");
  ASSERT_TRUE(manager.start({"--serve-command", airlock_binary().string() + " serve", "--serve-arg", "--threads",
                             "--serve-arg", "2"}))
      << manager.log();

  ApiResponse check = manager.call("POST", "/api/v1/check-path", key, Json{{"modelProfilesPath", store}});
  ASSERT_EQ(check.status, 200) << check.body;
  ASSERT_EQ(check.json["data"]["ok"], true) << check.body;
  ASSERT_GE(check.json["data"]["profiles"].size(), 1u) << check.body;

  ApiResponse created = manager.call("POST", "/api/v1/ai-models", key,
                                     Json{{"name", "demo-embedder"}, {"kind", "embedding"}, {"modelProfilesPath", store}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.json["data"]["id"];
  const std::string model_key = created.json["data"]["apiKey"];
  Json ready = manager.wait_for_model(id, key, [](const Json& m) { return m["status"] == "Ready" || m["status"] == "Failed"; },
                                      std::chrono::seconds(150));
  ASSERT_EQ(ready["status"], "Ready") << dump_json(ready, 2) << manager.log();
  EXPECT_FALSE(ready["cache"]["profile"].get<std::string>().empty());
  EXPECT_EQ(ready["cache"]["verifiedFiles"], check.json["data"]["files"]);
  EXPECT_GT(ready["cache"]["bytes"].get<std::uint64_t>(), 0u);

  // The smoke test of the issue, through the manager's proxy with the model's own key.
  net::HttpHeaders headers;
  headers.set("Authorization", "Bearer " + model_key);
  ApiResponse smoke = manager.call("POST", "/inferenceservices/" + id + "/v1/embeddings", "",
                                   Json{{"input", Json::array({"hello from the air gap"})}}, headers);
  ASSERT_EQ(smoke.status, 200) << smoke.body;
  EXPECT_EQ(smoke.json["object"], "list");
  EXPECT_GT(smoke.json["data"][0]["embedding"].size(), 0u);
  ApiResponse models = manager.call("GET", "/inferenceservices/" + id + "/v1/models", "", std::nullopt, headers);
  ASSERT_EQ(models.status, 200) << models.body;
  EXPECT_EQ(models.json["data"][0]["id"], "demo-embedder");  // --served-model-name from the manager

  auto db = manager::open_manager_database(manager.data_dir()).value();
  auto rows = db->query("SELECT pid, start_ticks FROM local_instances WHERE model_id = ?", {id}).value();
  ASSERT_EQ(rows.size(), 1u);
  const pid_t pid = static_cast<pid_t>(rows[0].integer(0));
  const auto ticks = static_cast<std::uint64_t>(rows[0].integer(1));
  ASSERT_EQ(manager.call("DELETE", "/api/v1/ai-models/" + id, key).status, 200);
  EXPECT_FALSE(manager::process_is(pid, ticks));
}

}  // namespace
}  // namespace airlock::testing
