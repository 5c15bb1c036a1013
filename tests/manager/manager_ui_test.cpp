// The web UI end to end in a real browser: Playwright (npm playwright-core) drives Debian's
// chromium headless through tests/manager/ui_test.cjs against a running manager, with a store
// pushed by the test (`airlock push`) and deployed by the local deployer as a real `airlock
// serve` (the demo model of `airlock quickstart`; the stand-in runtime when serve is not in the
// build). Screenshots of every page land in <build>/tests/manager/manager-ui-screenshots/.
#include <gtest/gtest.h>

#include "manager_fixture.h"

namespace airlock::testing {
namespace {

TEST(ManagerWebUi, LoginCreateReadySmokeEditDelete) {
  if (!fs::exists("/usr/bin/chromium")) GTEST_SKIP() << "Debian's chromium is not installed (apt-get install chromium)";
  if (!fs::exists(project_root() / "node_modules" / "playwright-core")) {
    GTEST_SKIP() << "npm playwright-core is not installed (scripts/setup)";
  }
  TempDir dir;
  const bool real_serve = run_command({airlock_binary().string(), "serve", "--help"}).exit_code == 0;
  fs::path cache = dir.path() / "cache";
  if (real_serve) {
    CommandResult made = run_command({airlock_binary().string(), "--quiet", "quickstart", "--model", "demo", "--workdir",
                                      (dir.path() / "demo").string(), "--no-serve"});
    ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
    cache = dir.path() / "demo" / "cache";
  } else {
    std::printf("`airlock serve` is not in this build: the UI deploys the stand-in runtime\n");
    make_profile_cache(cache, "airlock-cpu-fp32-ui");
  }
  const std::string store = "file://" + (dir.path() / "store" / "ui").string();
  auto pushed = run_command({airlock_binary().string(), "push", cache.string(), store});
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;

  ManagerProcess manager(dir.path() / "data");
  const std::string key = manager.create_key("operator");
  std::vector<std::string> flags;
  if (real_serve) flags = {"--serve-command", airlock_binary().string() + " serve", "--serve-arg", "--threads", "--serve-arg", "2"};
  ASSERT_TRUE(manager.start(flags)) << manager.log();
  // The profile the store holds, as the check-path action reports it (the UI shows the same).
  ApiResponse check = manager.call("POST", "/api/v1/check-path", key, Json{{"modelProfilesPath", store}});
  ASSERT_EQ(check.status, 200) << check.body;
  ASSERT_FALSE(check.json["data"]["profiles"].empty()) << check.body;
  const std::string profile = check.json["data"]["profiles"][0]["id"];
  const fs::path screenshots = fs::current_path() / "manager-ui-screenshots";
  CommandResult result = run_command({"node", (project_root() / "tests/manager/ui_test.cjs").string(), manager.url(), key,
                                      store, profile, screenshots.string()},
                                     {{"AIRLOCK_PROJECT_ROOT", project_root().string()}});
  auto seen = parse_json(result.out, "ui_test");
  ASSERT_TRUE(seen.ok()) << result.out << result.err;
  ASSERT_EQ(result.exit_code, 0) << dump_json(*seen, 2) << "\n" << result.err << manager.log();
  EXPECT_EQ((*seen)["modelRows"], 7);  // the seeded defaults
  EXPECT_NE((*seen)["who"].get<std::string>().find("operator (admin)"), std::string::npos);
  EXPECT_NE((*seen)["badPathMessage"].get<std::string>().find("not a store form"), std::string::npos);
  EXPECT_NE((*seen)["checkMessage"].get<std::string>().find("profile"), std::string::npos);
  EXPECT_EQ((*seen)["apiKeyShown"], true);
  EXPECT_NE((*seen)["endpoint"].get<std::string>().find(manager.url() + "/inferenceservices/m-"), std::string::npos);
  EXPECT_NE((*seen)["smoke"].get<std::string>().find("vector length"), std::string::npos);
  EXPECT_EQ((*seen)["cacheProfile"], profile);
  EXPECT_EQ((*seen)["outsideRequests"].size(), 0u) << dump_json((*seen)["outsideRequests"]);
  EXPECT_EQ((*seen)["consoleErrors"].size(), 0u) << dump_json((*seen)["consoleErrors"]);
  EXPECT_EQ((*seen)["screenshots"].size(), 7u);
  for (const Json& file : (*seen)["screenshots"]) EXPECT_GT(fs::file_size(file.get<std::string>()), 1000u);
  std::printf("runtime: %s; smoke test: %s\nscreenshots: %s\n", real_serve ? "airlock serve" : "stand-in",
              (*seen)["smoke"].get<std::string>().c_str(), screenshots.c_str());
}

}  // namespace
}  // namespace airlock::testing
