// `airlock embed` and `airlock rank` as a user runs them, on the generated tiny models: the
// printed vectors and logits equal the PyTorch reference, JSON output follows the OpenAI / NIM
// shapes, hub cache folders resolve to their snapshot, and mistakes give clear errors and exit codes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "core/file_io.h"
#include "core/json.h"
#include "engine/backend.h"
#include "engine_testdata.h"
#include "testing.h"

namespace airlock {
namespace {

using testing::run_command;

testing::CommandResult airlock(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) {
  args.insert(args.begin(), testing::airlock_binary().string());
  return run_command(args, env);
}

// The spin counts libgomp itself reports (OMP_DISPLAY_ENV=verbose prints its settings as it
// loads, once per process image): 0 is the passive policy, 300000 libgomp's default.
std::vector<std::string> openmp_spin_counts(const std::string& err) {
  std::vector<std::string> counts;
  const std::string key = "GOMP_SPINCOUNT = '";
  for (std::size_t at = err.find(key); at != std::string::npos; at = err.find(key, at + 1)) {
    std::size_t begin = at + key.size();
    counts.push_back(err.substr(begin, err.find('\'', begin) - begin));
  }
  return counts;
}

class CliEngine : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    data_ = testing::engine_testdata(&why);
    if (data_ == nullptr) GTEST_SKIP() << "engine test data unavailable: " << why;
  }
  std::string model(const std::string& name) const { return (data_->root / "models" / name).string(); }
  Json reference(const std::string& name) const { return *read_json_file(data_->root / "models" / name / "reference.json"); }
  const testing::EngineTestdata* data_ = nullptr;
};

TEST_F(CliEngine, EmbedPrintsTheReferenceVectors) {
  Json ref = reference("bert_embed").at("plain");
  std::vector<std::string> texts{testing::hex_decode(ref.at("inputs")[1].get<std::string>()),
                                 testing::hex_decode(ref.at("inputs")[2].get<std::string>())};
  auto result = airlock({"embed", "--model", model("bert_embed"), texts[0], texts[1]});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::istringstream lines(result.out);
  std::string line;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(std::getline(lines, line));
    std::istringstream values(line);
    std::vector<double> got;
    for (double v; values >> v;) got.push_back(v);
    std::vector<double> want = ref.at("embeddings")[i + 1].get<std::vector<double>>();
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-4);
  }
  EXPECT_FALSE(std::getline(lines, line));
}

// --precision int8 (CPUs with VNNI): the vectors stay within the cosine of the reference.
TEST_F(CliEngine, EmbedRunsInt8WhereTheCpuHasVnni) {
  if (!engine::cpu_has_int8()) GTEST_SKIP() << "this CPU has no VNNI (avx512_vnni or avx_vnni)";
  Json ref = reference("bert_embed").at("plain");
  std::vector<std::string> args{"embed", "--model", model("bert_embed"), "--precision", "INT8", "--json"};
  for (int i = 0; i < 4; ++i) args.push_back(testing::hex_decode(ref.at("inputs")[i].get<std::string>()));
  auto result = airlock(args);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto json = nlohmann::json::parse(result.out);
  ASSERT_EQ(json["data"].size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    auto got = json["data"][i]["embedding"].get<std::vector<double>>();
    auto want = ref.at("embeddings")[i].get<std::vector<double>>();
    ASSERT_EQ(got.size(), want.size());
    double ab = 0, aa = 0, bb = 0, max_error = 0;
    for (std::size_t k = 0; k < got.size(); ++k) {
      ab += got[k] * want[k];
      aa += got[k] * got[k];
      bb += want[k] * want[k];
      max_error = std::max(max_error, std::fabs(got[k] - want[k]));
    }
    EXPECT_GE(ab / std::sqrt(aa * bb), 0.99) << "row " << i;
    EXPECT_GT(max_error, 0.0) << "row " << i << ": int8 gave exactly the fp32 vector (did it run fp32?)";
  }
  auto on_openblas = airlock({"embed", "--model", model("bert_embed"), "--precision", "int8", "--gemm", "openblas", "x"});
  EXPECT_NE(on_openblas.exit_code, 0);
  EXPECT_NE(on_openblas.err.find("int8 on CPU needs the oneDNN GEMM"), std::string::npos) << on_openblas.err;
}

TEST_F(CliEngine, EmbedJsonIsAnOpenAiResponse) {
  Json ref = reference("bert_embed").at("plain");
  std::string text = testing::hex_decode(ref.at("inputs")[1].get<std::string>());
  auto result = airlock({"embed", "--model", model("bert_embed"), "--json", "--dimensions", "8", text});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["object"], "list");
  ASSERT_EQ(json["data"].size(), 1u);
  EXPECT_EQ(json["data"][0]["index"], 0);
  auto vector = json["data"][0]["embedding"].get<std::vector<double>>();
  ASSERT_EQ(vector.size(), 8u);
  double norm = 0;
  for (double v : vector) norm += v * v;
  EXPECT_NEAR(norm, 1.0, 1e-5);  // Matryoshka cut, re-normalised
  EXPECT_EQ(json["usage"]["prompt_tokens"], ref.at("ids")[1].size());
  EXPECT_EQ(json["usage"]["total_tokens"], json["usage"]["prompt_tokens"]);
}

TEST_F(CliEngine, RankPrintsLogitsBestFirst) {
  Json ref = reference("xlmr_reranker").at("rank");
  std::vector<std::string> args{"rank", "--model", model("xlmr_reranker"), "--json", "--query",
                                testing::hex_decode(ref.at("query").get<std::string>())};
  std::size_t n = 4;
  for (std::size_t i = 0; i < n; ++i) args.push_back(testing::hex_decode(ref.at("passages")[i].get<std::string>()));
  auto result = airlock(args);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto json = nlohmann::json::parse(result.out);
  ASSERT_EQ(json["rankings"].size(), n);
  double previous = 1e300;
  for (const auto& r : json["rankings"]) {
    std::size_t index = r["index"].get<std::size_t>();
    double logit = r["logit"].get<double>();
    EXPECT_NEAR(logit, ref.at("logits")[index].get<double>(), 1e-4);
    EXPECT_LE(logit, previous);
    previous = logit;
  }
  auto table = airlock({"rank", "--model", model("xlmr_reranker"), "--query", "q", "first passage", "second passage"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("rank  index"), std::string::npos);
  EXPECT_NE(table.out.find("first passage"), std::string::npos);
}

TEST_F(CliEngine, HubCacheFoldersResolveToTheirSnapshot) {
  testing::TempDir cache;
  std::filesystem::path repo = cache / "models--org--tiny";
  std::string commit = "0123456789abcdef0123456789abcdef01234567";
  std::filesystem::create_directories(repo / "snapshots");
  std::filesystem::create_directories(repo / "refs");
  std::filesystem::create_directory_symlink(model("bert_embed"), repo / "snapshots" / commit);
  ASSERT_TRUE(write_file_atomic(repo / "refs" / "main", commit).ok());
  auto result = airlock({"embed", "--model", repo.string(), "hello"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

// Spinning OpenMP threads steal the core of the one still working when another process holds a
// core; libgomp reads its policy before main(), so the engine commands restart with a passive one.
TEST_F(CliEngine, EngineCommandsRunWithPassiveOpenMpWaitUnlessTheUserChose) {
  const std::map<std::string, std::string> display{
      {"OMP_DISPLAY_ENV", "verbose"}, {"OMP_WAIT_POLICY", "\x01unset"}, {"GOMP_SPINCOUNT", "\x01unset"}};
  auto embed = airlock({"--log-level", "warn", "embed", "--model", model("bert_embed"), "hello"}, display);
  ASSERT_EQ(embed.exit_code, 0) << embed.err;
  // The first image read libgomp's default; the re-executed one, which does the work, is passive.
  EXPECT_EQ(openmp_spin_counts(embed.err), (std::vector<std::string>{"300000", "0"})) << embed.err;
  EXPECT_EQ(std::count(embed.out.begin(), embed.out.end(), '\n'), 1) << embed.out;  // ran once, printed once

  auto rank = airlock({"rank", "--model", model("xlmr_reranker"), "--query", "q", "p"}, display);
  ASSERT_EQ(rank.exit_code, 0) << rank.err;
  EXPECT_EQ(openmp_spin_counts(rank.err), (std::vector<std::string>{"300000", "0"})) << rank.err;

  // The user's own choice is kept, and no re-exec happens.
  auto display_active = display;
  display_active["OMP_WAIT_POLICY"] = "active";
  auto active = airlock({"embed", "--model", model("bert_embed"), "hello"}, display_active);
  ASSERT_EQ(active.exit_code, 0) << active.err;
  EXPECT_EQ(openmp_spin_counts(active.err), (std::vector<std::string>{"30000000000"})) << active.err;
  auto display_spin = display;
  display_spin["GOMP_SPINCOUNT"] = "1000";
  auto spin = airlock({"embed", "--model", model("bert_embed"), "hello"}, display_spin);
  ASSERT_EQ(spin.exit_code, 0) << spin.err;
  EXPECT_EQ(openmp_spin_counts(spin.err), (std::vector<std::string>{"1000"})) << spin.err;

  // Commands that run no engine are not restarted.
  auto version = airlock({"--version"}, display);
  EXPECT_EQ(openmp_spin_counts(version.err), (std::vector<std::string>{"300000"})) << version.err;
}

TEST_F(CliEngine, MistakesGiveClearErrors) {
  auto wrong_kind = airlock({"rank", "--model", model("bert_embed"), "--query", "q", "p"});
  EXPECT_EQ(wrong_kind.exit_code, 2);
  EXPECT_NE(wrong_kind.err.find("no classification head"), std::string::npos) << wrong_kind.err;
  auto embed_reranker = airlock({"embed", "--model", model("bert_reranker"), "x"});
  EXPECT_EQ(embed_reranker.exit_code, 2);
  EXPECT_NE(embed_reranker.err.find("use rank"), std::string::npos) << embed_reranker.err;
  auto missing = airlock({"embed", "--model", (data_->root / "nope").string(), "x"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no such model directory"), std::string::npos) << missing.err;
  std::string long_text;
  for (int i = 0; i < 200; ++i) long_text += "word ";
  auto too_long = airlock({"embed", "--model", model("bert_embed"), "--truncate", "NONE", long_text});
  EXPECT_EQ(too_long.exit_code, 2);
  EXPECT_NE(too_long.err.find("exceeds maximum allowed token size 64"), std::string::npos) << too_long.err;
  auto bad_flag = airlock({"embed", "--model", model("bert_embed"), "--precision", "fp8", "x"});
  EXPECT_EQ(bad_flag.exit_code, 2);
  EXPECT_NE(bad_flag.err.find("--precision must be fp32, bf16, fp16 or int8"), std::string::npos) << bad_flag.err;
  auto dims = airlock({"embed", "--model", model("bert_embed"), "--dimensions", "100000", "x"});
  EXPECT_EQ(dims.exit_code, 2);
  EXPECT_NE(dims.err.find("dimensions must be between 1 and 128"), std::string::npos) << dims.err;
}

}  // namespace
}  // namespace airlock
