// Pooling modes, Dense and L2 normalisation on hand-computed examples.
#include "engine/pooling.h"

#include <gtest/gtest.h>

#include <cmath>

namespace airlock::engine {
namespace {

// Three tokens of two dimensions.
const std::vector<float> kStates{1, 2, 3, -4, 5, 0};

std::vector<float> run(std::vector<PoolingMode> modes, std::int64_t skip = 0, std::int64_t length = 3) {
  std::vector<float> out;
  pool(kStates.data(), length, 2, modes, skip, out);
  return out;
}

TEST(Pooling, EachMode) {
  EXPECT_EQ(run({PoolingMode::kCls}), (std::vector<float>{1, 2}));
  EXPECT_EQ(run({PoolingMode::kLastToken}), (std::vector<float>{5, 0}));
  EXPECT_EQ(run({PoolingMode::kMax}), (std::vector<float>{5, 2}));
  EXPECT_EQ(run({PoolingMode::kMean}), (std::vector<float>{3, -2.0f / 3}));
  auto sqrt_len = run({PoolingMode::kMeanSqrtLen});
  EXPECT_FLOAT_EQ(sqrt_len[0], 9 / std::sqrt(3.0f));
  auto weighted = run({PoolingMode::kWeightedMean});
  EXPECT_FLOAT_EQ(weighted[0], (1 * 1 + 3 * 2 + 5 * 3) / 6.0f);
  EXPECT_EQ(run({PoolingMode::kCls, PoolingMode::kMean}), (std::vector<float>{1, 2, 3, -2.0f / 3}));
}

TEST(Pooling, SkippedPromptTokensDoNotCount) {
  EXPECT_EQ(run({PoolingMode::kMean}, 1), (std::vector<float>{4, -2}));
  EXPECT_EQ(run({PoolingMode::kMax}, 2), (std::vector<float>{5, 0}));
  EXPECT_EQ(run({PoolingMode::kMean}, 0, 0), (std::vector<float>{0, 0}));  // empty: no division by zero
}

TEST(Pooling, DenseAndNormalize) {
  DenseLayer dense;
  dense.in_features = 2;
  dense.out_features = 1;
  dense.weight = {2, -1};
  dense.bias_values = {0.5f};
  dense.activation = "Identity";
  std::vector<float> x{3, 4};
  EXPECT_EQ(apply_dense(dense, x), std::vector<float>{2.5f});
  dense.activation = "Tanh";
  EXPECT_FLOAT_EQ(apply_dense(dense, x)[0], std::tanh(2.5f));
  l2_normalize(x);
  EXPECT_FLOAT_EQ(x[0], 0.6f);
  EXPECT_FLOAT_EQ(x[1], 0.8f);
  std::vector<float> zero{0, 0};
  l2_normalize(zero);
  EXPECT_EQ(zero, (std::vector<float>{0, 0}));
}

}  // namespace
}  // namespace airlock::engine
