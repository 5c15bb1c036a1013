#include "server/api_responses.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/base64.h"
#include "core/json.h"

namespace airlock::server {
namespace {

TEST(Embeddings, FloatTextRoundTripsExactly) {
  std::vector<float> values = {0.1f, -1.5e-8f, 3.4028235e38f, 1.17549435e-38f, -0.0f, 0.33333334f};
  auto body = render_embeddings(values, 2, 3, "m\"x", EncodingFormat::kFloat, 7);
  ASSERT_TRUE(body.ok());
  auto json = parse_json(*body, "body");
  ASSERT_TRUE(json.ok()) << *body;
  EXPECT_EQ((*json)["object"], "list");
  EXPECT_EQ((*json)["model"], "m\"x");
  EXPECT_EQ((*json)["usage"]["prompt_tokens"], 7);
  EXPECT_EQ((*json)["usage"]["total_tokens"], 7);
  ASSERT_EQ((*json)["data"].size(), 2u);
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ((*json)["data"][r]["index"], r);
    EXPECT_EQ((*json)["data"][r]["object"], "embedding");
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ((*json)["data"][r]["embedding"][i].get<float>(), values[static_cast<std::size_t>(r * 3 + i)]);
    }
  }
}

TEST(Embeddings, Base64IsLittleEndianFloat32) {
  std::vector<float> values = {1.0f, -2.5f, 0.125f, 1e-3f};
  auto body = render_embeddings(values, 1, 4, "m", EncodingFormat::kBase64, 1);
  ASSERT_TRUE(body.ok());
  auto json = parse_json(*body, "body");
  ASSERT_TRUE(json.ok());
  auto bytes = base64_decode((*json)["data"][0]["embedding"].get<std::string>());
  ASSERT_TRUE(bytes.ok());
  ASSERT_EQ(bytes->size(), 16u);
  EXPECT_EQ(static_cast<unsigned char>((*bytes)[3]), 0x3f);  // 1.0f = 00 00 80 3f
  EXPECT_EQ(static_cast<unsigned char>((*bytes)[2]), 0x80);
  for (std::size_t i = 0; i < values.size(); ++i) {
    float v = 0;
    std::memcpy(&v, bytes->data() + i * 4, 4);
    EXPECT_EQ(v, values[i]);
  }
}

TEST(Embeddings, RefusesNonFiniteValues) {
  std::vector<float> values = {1.0f, std::numeric_limits<float>::quiet_NaN()};
  EXPECT_FALSE(render_embeddings(values, 1, 2, "m", EncodingFormat::kFloat, 1).ok());
}

TEST(Rankings, SortedByLogitWithNimAndTeiShapes) {
  RankingRequest nim;
  nim.passages = {"a", "b", "c"};
  std::vector<float> logits = {-1.0f, 2.0f, 0.5f};
  auto json = parse_json(render_rankings(nim, logits, "r", 9), "body");
  ASSERT_TRUE(json.ok());
  ASSERT_EQ((*json)["rankings"].size(), 3u);
  EXPECT_EQ((*json)["rankings"][0]["index"], 1);
  EXPECT_EQ((*json)["rankings"][1]["index"], 2);
  EXPECT_EQ((*json)["rankings"][2]["index"], 0);
  EXPECT_FLOAT_EQ((*json)["rankings"][0]["logit"].get<float>(), 2.0f);

  RankingRequest tei = nim;
  tei.tei = true;
  tei.return_text = true;
  auto rerank = parse_json(render_rankings(tei, logits, "r", 9), "body");
  ASSERT_TRUE(rerank.ok());
  ASSERT_TRUE(rerank->is_array());
  EXPECT_EQ((*rerank)[0]["index"], 1);
  EXPECT_EQ((*rerank)[0]["text"], "b");
  EXPECT_NEAR((*rerank)[0]["score"].get<double>(), 1.0 / (1.0 + std::exp(-2.0)), 1e-6);
}

}  // namespace
}  // namespace airlock::server
