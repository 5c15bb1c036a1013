// `airlock embed` and `airlock rank` as a user runs them, on the generated tiny models: the
// printed vectors and logits equal the PyTorch reference, JSON output follows the OpenAI / NIM
// shapes, hub cache folders resolve to their snapshot, and mistakes give clear errors and exit codes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <sstream>

#include "core/file_io.h"
#include "core/json.h"
#include "engine_testdata.h"
#include "testing.h"

namespace airlock {
namespace {

using testing::run_command;

testing::CommandResult airlock(std::vector<std::string> args) {
  args.insert(args.begin(), testing::airlock_binary().string());
  return run_command(args);
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
  auto dims = airlock({"embed", "--model", model("bert_embed"), "--dimensions", "100000", "x"});
  EXPECT_EQ(dims.exit_code, 2);
  EXPECT_NE(dims.err.find("dimensions must be between 1 and 128"), std::string::npos) << dims.err;
}

}  // namespace
}  // namespace airlock
