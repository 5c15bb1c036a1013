// Real clients against `airlock serve`: the official OpenAI Node SDK (npm `openai`, unchanged)
// gets the vectors the engine computes, as floats and as base64.
#include <gtest/gtest.h>

#include "serve_fixture.h"

namespace airlock::testing {
namespace {

void expect_close(const std::vector<float>& a, const std::vector<float>& b, float tolerance) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], tolerance) << "component " << i;
}

TEST(OpenAiSdk, EmbeddingsCreateFloatAndBase64MatchTheEngine) {
  if (!std::filesystem::exists(project_root() / "node_modules" / "openai")) {
    GTEST_SKIP() << "npm package `openai` is not installed in node_modules (scripts/setup installs it)";
  }
  TempDir cache;
  Serve serve;
  ASSERT_TRUE(serve.start({"--model-profiles-path", embedding_store().uri, "--cache-dir", cache.path().string(),
                           "--served-model-name", "demo-e5"},
                          {{"AIRLOCK_API_KEYS", "sdk-key"}}))
      << serve.log();
  const std::string text = "hello from the air gap";
  CommandResult r = run_command({"node", (project_root() / "tests/server/openai_client.mjs").string(), serve.url() + "/v1", "sdk-key",
                                 "demo-e5", text});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  Json out = parse_json(r.out, "openai_client.mjs").value_or(Json());
  ASSERT_TRUE(out.is_object()) << r.out;

  const std::vector<float> engine = engine_embedding(embedding_store().model_dir, text);
  ASSERT_EQ(engine.size(), 128u);
  expect_close(out["float"][0].get<std::vector<float>>(), engine, 1e-5f);
  expect_close(out["float"][1].get<std::vector<float>>(), engine_embedding(embedding_store().model_dir, "second input"), 1e-5f);
  EXPECT_EQ(out["float_index"], Json::array({0, 1}));
  EXPECT_EQ(out["model"], "demo-e5");
  EXPECT_GT(out["usage"]["prompt_tokens"].get<int>(), 0);
  // base64 carries the exact float32 values: equal to the float answer bit for bit.
  expect_close(out["base64"].get<std::vector<float>>(), out["float"][0].get<std::vector<float>>(), 0);
  expect_close(out["default"].get<std::vector<float>>(), out["float"][0].get<std::vector<float>>(), 0);
  expect_close(out["query"].get<std::vector<float>>(), engine_embedding(embedding_store().model_dir, text, {"--input-type", "query"}),
               1e-5f);
  EXPECT_EQ(out["not_found"]["status"], 404) << r.out;
  EXPECT_EQ(out["not_found"]["name"], "NotFoundError");
  EXPECT_EQ(out["not_found"]["code"], "model_not_found");
  EXPECT_EQ(out["unauthorized"]["status"], 401);
  EXPECT_EQ(out["unauthorized"]["name"], "AuthenticationError");
  EXPECT_EQ(out["models"], Json::array({"demo-e5"}));
  EXPECT_EQ(serve.terminate(), 0);
}

}  // namespace
}  // namespace airlock::testing
