// The airlock binary as a user runs it: list-model-profiles and hardware, their exit codes,
// their error messages and their JSON.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testing.h"

namespace airlock {
namespace {

using testing::run_command;

std::string example(const std::string& name) { return (testing::project_root() / "examples/manifests" / name).string(); }

testing::CommandResult airlock(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) {
  args.insert(args.begin(), testing::airlock_binary().string());
  return run_command(args, env);
}

TEST(CliListProfiles, TwoH100sPrintsTheGoldenListing) {
  auto result = airlock({"list-model-profiles", "-m", example("llama-3.1-8b-instruct.yaml"), "--target", "2xH100"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, testing::read_text(testing::project_root() / "tests/data/golden/llama-3.1-8b-instruct.2xH100.txt"));
}

TEST(CliListProfiles, FourL40SPrintsTheGoldenListing) {
  auto result = airlock({"list-model-profiles", "--manifest", example("llama-3.1-8b-instruct.yaml"), "--target", "4xL40S"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, testing::read_text(testing::project_root() / "tests/data/golden/llama-3.1-8b-instruct.4xL40S.txt"));
}

TEST(CliListProfiles, JsonAndExplain) {
  auto json_run = airlock({"list-model-profiles", "-m", example("llama-3.1-8b-instruct.yaml"), "--target", "2xH100", "--json"});
  ASSERT_EQ(json_run.exit_code, 0) << json_run.err;
  auto json = nlohmann::json::parse(json_run.out);
  EXPECT_EQ(json["selected"]["description"], "tensorrt_llm-h100-fp8-tp2-pp1-latency");
  EXPECT_EQ(json["system"]["gpus"].size(), 2u);
  auto explain = airlock({"list-model-profiles", "-m", example("llama-3.1-8b-instruct.yaml"), "--target", "1xA100", "--explain"});
  ASSERT_EQ(explain.exit_code, 0);
  EXPECT_NE(explain.out.find("AUTOMATIC CHOICE"), std::string::npos);
  EXPECT_NE(explain.out.find("<- selected"), std::string::npos);
  EXPECT_NE(explain.out.find("needs 2 x A100 GPUs [20b2:10de]; found 1"), std::string::npos) << explain.out;
}

TEST(CliListProfiles, ManifestFromEnvironmentAndDirectory) {
  auto from_env = airlock({"list-model-profiles", "--target", "1xL40S"},
                          {{"NIM_MANIFEST_PATH", example("llama-3.2-nv-rerankqa-1b-v2.yaml")}});
  ASSERT_EQ(from_env.exit_code, 0) << from_env.err;
  EXPECT_NE(from_env.out.find("(tensorrt-l40s-fp16)"), std::string::npos);
  auto from_dir = airlock({"list-model-profiles", "--manifest-dir", (testing::project_root() / "examples/manifests").string(),
                           "--target", "cpu"});
  ASSERT_EQ(from_dir.exit_code, 0) << from_dir.err;
  EXPECT_NE(from_dir.out.find("No GPUs found"), std::string::npos);
  EXPECT_NE(from_dir.out.find("(airlock-cpu-fp32)"), std::string::npos);
  auto none = airlock({"list-model-profiles"}, {{"NIM_MANIFEST_PATH", "\x01unset"}});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("NIM_MANIFEST_PATH"), std::string::npos) << none.err;
}

TEST(CliListProfiles, PinnedProfileByIdOrDescription) {
  auto by_description = airlock({"list-model-profiles", "-m", example("llama-3.1-8b-instruct.yaml"), "--target", "2xH100",
                                 "--explain", "--profile", "vllm-bf16-tp2-pp1"});
  ASSERT_EQ(by_description.exit_code, 0) << by_description.err;
  EXPECT_NE(by_description.out.find("Selected profile: 0e4f7c83b00185ca371abf6a054a184c42ea0965f5394d8e4da33802d8d24085 (vllm-bf16-tp2-pp1)"),
            std::string::npos) << by_description.out;
  auto from_env = airlock({"list-model-profiles", "-m", example("llama-3.1-8b-instruct.yaml"), "--target", "2xH100", "--json"},
                          {{"NIM_MODEL_PROFILE", "0e4f7c83b00185ca371abf6a054a184c42ea0965f5394d8e4da33802d8d24085"}});
  ASSERT_EQ(from_env.exit_code, 0) << from_env.err;
  auto json = nlohmann::json::parse(from_env.out);
  EXPECT_EQ(json["selected"]["description"], "vllm-bf16-tp2-pp1");
  EXPECT_EQ(json["selected"]["pinned"], true);
  auto unknown = airlock({"list-model-profiles", "-m", example("llama-3.1-8b-instruct.yaml"), "--target", "2xH100", "-p", "default"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("unknown profile 'default'"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("(vllm-bf16-tp1-pp1)"), std::string::npos) << "lists the valid ones";
}

TEST(CliListProfiles, BadManifestsExitTwoWithLocation) {
  testing::TempDir dir;
  struct Case {
    std::string content;
    std::string fragment;
  };
  std::vector<Case> cases = {
      {"schema_version: '2.0'\nprofiles:\n  - id: x\n    tags: {tp: [1\n", "(started at line 4"},
      {"schema_version: '9.0'\nprofiles: []\n", "unknown schema_version '9.0'"},
      {"schema_version: '2.0'\nprofiles:\n  - {id: a, tags: {tp: 2}}\n", "bad.yaml:3:"},
  };
  for (const Case& c : cases) {
    testing::write_text(dir / "bad.yaml", c.content);
    auto result = airlock({"list-model-profiles", "-m", (dir / "bad.yaml").string(), "--target", "cpu"});
    EXPECT_EQ(result.exit_code, 2) << c.content;
    EXPECT_NE(result.err.find(c.fragment), std::string::npos) << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << "one line: " << result.err;
    EXPECT_TRUE(result.out.empty());
  }
}

TEST(CliListProfiles, BadTargetsAndFlags) {
  auto bad_target = airlock({"list-model-profiles", "-m", example("llama-3.1-8b-instruct.yaml"), "--target", "2xH999"});
  EXPECT_EQ(bad_target.exit_code, 2);
  EXPECT_NE(bad_target.err.find("H999"), std::string::npos) << bad_target.err;
  auto bad_flag = airlock({"list-model-profiles", "--no-such-flag"});
  EXPECT_EQ(bad_flag.exit_code, 2);
  EXPECT_NE(bad_flag.err.find("--help"), std::string::npos);
  auto help = airlock({"list-model-profiles", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--target"), std::string::npos);
  auto version = airlock({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.out.find("airlock "), std::string::npos);
}

TEST(CliHardware, JsonRoundTripsThroughTargetFile) {
  testing::TempDir dir;
  auto described = airlock({"hardware", "--target", "2xH100+1xL40S", "--json"});
  ASSERT_EQ(described.exit_code, 0) << described.err;
  testing::write_text(dir / "node.json", described.out);
  auto listing = airlock({"list-model-profiles", "-m", example("llama-3.1-8b-instruct.yaml"), "--target-file", (dir / "node.json").string()});
  ASSERT_EQ(listing.exit_code, 0) << listing.err;
  EXPECT_NE(listing.out.find("(2) NVIDIA L40S (L40S)"), std::string::npos) << listing.out;
  EXPECT_NE(listing.out.find("(tensorrt_llm-l40s-fp8-tp1-pp1-throughput)"), std::string::npos);
  auto detected = airlock({"hardware"});
  ASSERT_EQ(detected.exit_code, 0) << detected.err;
  EXPECT_EQ(detected.out.rfind("SYSTEM INFO\n", 0), 0u);
}

TEST(CliListProfiles, ErrorsNeverShowSecrets) {
  auto result = airlock({"list-model-profiles", "-m", "/nonexistent/nvapi-SECRETSECRET1234.yaml"},
                        {{"NGC_API_KEY", "nvapi-SECRETSECRET1234"}});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_EQ(result.err.find("SECRETSECRET1234"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace airlock
