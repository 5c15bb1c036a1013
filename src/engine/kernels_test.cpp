// The CPU kernels against straightforward double-precision versions of the same math.
#include "engine/cpu/kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "engine/numeric.h"

namespace airlock::engine {
namespace {

std::vector<float> random_vector(std::size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Attention of packed sequences, computed the obvious way in double.
std::vector<double> naive_attention(const std::vector<float>& qkv, const std::vector<std::int32_t>& offsets,
                                    std::int64_t heads, std::int64_t hidden) {
  const std::int64_t dh = hidden / heads, stride = 3 * hidden;
  std::vector<double> ctx(static_cast<std::size_t>(offsets.back() * hidden));
  for (std::size_t s = 0; s + 1 < offsets.size(); ++s) {
    std::int64_t b = offsets[s], n = offsets[s + 1] - offsets[s];
    for (std::int64_t h = 0; h < heads; ++h) {
      for (std::int64_t i = 0; i < n; ++i) {
        std::vector<double> score(static_cast<std::size_t>(n));
        double m = -1e300;
        for (std::int64_t j = 0; j < n; ++j) {
          double dot = 0;
          for (std::int64_t c = 0; c < dh; ++c) {
            dot += static_cast<double>(qkv[static_cast<std::size_t>((b + i) * stride + h * dh + c)]) *
                   qkv[static_cast<std::size_t>((b + j) * stride + hidden + h * dh + c)];
          }
          score[static_cast<std::size_t>(j)] = dot / std::sqrt(static_cast<double>(dh));
          m = std::max(m, score[static_cast<std::size_t>(j)]);
        }
        double sum = 0;
        for (double& x : score) sum += (x = std::exp(x - m));
        for (std::int64_t c = 0; c < dh; ++c) {
          double acc = 0;
          for (std::int64_t j = 0; j < n; ++j) {
            acc += score[static_cast<std::size_t>(j)] / sum * qkv[static_cast<std::size_t>((b + j) * stride + 2 * hidden + h * dh + c)];
          }
          ctx[static_cast<std::size_t>((b + i) * hidden + h * dh + c)] = acc;
        }
      }
    }
  }
  return ctx;
}

class AttentionTest : public ::testing::TestWithParam<std::pair<int, int>> {};

TEST_P(AttentionTest, MatchesNaiveAttentionOverPackedSequences) {
  auto [heads, head_dim] = GetParam();
  const std::int64_t hidden = static_cast<std::int64_t>(heads) * head_dim;
  std::mt19937 rng(heads * 100 + head_dim);
  // Mixed lengths, including 1 and ones that are not multiples of the 4-row and 16-key blocks.
  std::vector<std::int32_t> offsets{0};
  for (int length : {1, 5, 17, 64, 3, 33}) offsets.push_back(offsets.back() + length);
  std::vector<float> qkv = random_vector(static_cast<std::size_t>(offsets.back() * 3 * hidden), rng, 2.0f);
  std::vector<float> ctx(static_cast<std::size_t>(offsets.back() * hidden));
  cpu::attention(qkv.data(), offsets.data(), static_cast<std::int64_t>(offsets.size() - 1), heads, hidden, ctx.data(),
                 nullptr);
  std::vector<double> want = naive_attention(qkv, offsets, heads, hidden);
  double max_error = 0;
  for (std::size_t i = 0; i < ctx.size(); ++i) max_error = std::max(max_error, std::fabs(ctx[i] - want[i]));
  EXPECT_LT(max_error, 2e-5);
  // The bf16 output is the same values rounded.
  std::vector<std::uint16_t> ctx16(ctx.size());
  cpu::attention(qkv.data(), offsets.data(), static_cast<std::int64_t>(offsets.size() - 1), heads, hidden, nullptr,
                 ctx16.data());
  for (std::size_t i = 0; i < ctx.size(); ++i) EXPECT_NEAR(bf16_to_float(ctx16[i]), want[i], 1e-2 * (1 + std::fabs(want[i])));
}

INSTANTIATE_TEST_SUITE_P(HeadSizes, AttentionTest,
                         ::testing::Values(std::make_pair(4, 32), std::make_pair(2, 64), std::make_pair(1, 128),
                                           std::make_pair(3, 16), std::make_pair(2, 80)));

TEST(Kernels, LayerNormMatchesDefinition) {
  std::mt19937 rng(3);
  const std::int64_t rows = 7, hidden = 96;
  std::vector<float> x = random_vector(static_cast<std::size_t>(rows * hidden), rng, 3.0f);
  std::vector<float> gamma = random_vector(hidden, rng), beta = random_vector(hidden, rng);
  std::vector<float> y = x;
  std::vector<std::uint16_t> y16(y.size());
  cpu::layer_norm(y.data(), rows, hidden, gamma.data(), beta.data(), 1e-12f, y16.data());
  for (std::int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (std::int64_t c = 0; c < hidden; ++c) mean += x[static_cast<std::size_t>(r * hidden + c)];
    mean /= hidden;
    for (std::int64_t c = 0; c < hidden; ++c) var += std::pow(x[static_cast<std::size_t>(r * hidden + c)] - mean, 2);
    var /= hidden;
    for (std::int64_t c = 0; c < hidden; ++c) {
      auto i = static_cast<std::size_t>(r * hidden + c);
      double want = (x[i] - mean) / std::sqrt(var + 1e-12) * gamma[static_cast<std::size_t>(c)] + beta[static_cast<std::size_t>(c)];
      EXPECT_NEAR(y[i], want, 1e-5);
      EXPECT_EQ(y16[i], float_to_bf16(y[i]));
    }
  }
}

TEST(Kernels, ActivationsMatchTheirDefinitions) {
  for (double x = -12; x <= 12; x += 0.01) {
    auto f = static_cast<float>(x);
    EXPECT_NEAR(cpu::activate(f, Activation::kGeluErf), 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))), 2e-6 * (1 + std::fabs(x)));
    double inner = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
    EXPECT_NEAR(cpu::activate(f, Activation::kGeluTanh), 0.5 * x * (1 + std::tanh(inner)), 2e-6 * (1 + std::fabs(x)));
    EXPECT_NEAR(cpu::activate(f, Activation::kTanh), std::tanh(x), 2e-6);
    EXPECT_NEAR(cpu::activate(f, Activation::kSilu), x / (1 + std::exp(-x)), 2e-6 * (1 + std::fabs(x)));
    EXPECT_NEAR(cpu::activate(f, Activation::kQuickGelu), x / (1 + std::exp(-1.702 * x)), 2e-6 * (1 + std::fabs(x)));
    EXPECT_EQ(cpu::activate(f, Activation::kRelu), std::max(0.0f, f));
  }
  std::vector<float> y{-1, 0, 1, 2};
  std::vector<float> bias{1, 1, 1, 1};
  cpu::bias_activation(y.data(), 1, 4, bias.data(), Activation::kRelu);
  EXPECT_EQ(y, (std::vector<float>{0, 1, 2, 3}));
}

TEST(Kernels, EmbeddingSumsTheThreeTables) {
  const std::int64_t hidden = 8;
  std::mt19937 rng(5);
  std::vector<float> word = random_vector(10 * hidden, rng), position = random_vector(6 * hidden, rng),
                     type = random_vector(2 * hidden, rng);
  std::vector<float> ones(hidden, 1.0f), zeros(hidden, 0.0f);
  std::vector<std::int32_t> ids{3, 9}, positions{0, 5}, types{1, 0};
  std::vector<float> out(2 * hidden);
  cpu::embed(ids.data(), positions.data(), types.data(), 2, word.data(), position.data(), type.data(), hidden, ones.data(),
             zeros.data(), 1e-12f, out.data(), nullptr);
  // LayerNorm of the sum: check against computing the sum and normalising here.
  for (int t = 0; t < 2; ++t) {
    std::vector<float> sum(hidden);
    for (std::int64_t c = 0; c < hidden; ++c) {
      sum[static_cast<std::size_t>(c)] = word[static_cast<std::size_t>(ids[t] * hidden + c)] +
                                         position[static_cast<std::size_t>(positions[t] * hidden + c)] +
                                         type[static_cast<std::size_t>(types[t] * hidden + c)];
    }
    cpu::layer_norm(sum.data(), 1, hidden, ones.data(), zeros.data(), 1e-12f, nullptr);
    for (std::int64_t c = 0; c < hidden; ++c) EXPECT_NEAR(out[static_cast<std::size_t>(t * hidden + c)], sum[static_cast<std::size_t>(c)], 1e-6);
  }
}

TEST(Kernels, QuantizeRowsIsSymmetricPerRow) {
  // Row 0: max |x| = 2 → scale 2/127; row 1: all zero → scale 0; row 2: a long row past the
  // 16-lane blocks with its maximum in the tail.
  std::vector<float> x{2.0f, -1.0f, 0.5f, -2.0f, 0.0f, 0.0f, 0.0f, 0.0f};
  const std::int64_t cols = 4;
  std::vector<std::int8_t> q(x.size());
  std::vector<float> scales(2);
  cpu::quantize_rows(x.data(), 2, cols, q.data(), scales.data());
  EXPECT_FLOAT_EQ(scales[0], 2.0f / 127.0f);
  EXPECT_EQ(q[0], 127);
  EXPECT_EQ(q[1], -64);  // -63.5 rounds away from zero
  EXPECT_EQ(q[2], 32);   // 31.75
  EXPECT_EQ(q[3], -127);
  EXPECT_EQ(scales[1], 0.0f);
  for (int i = 4; i < 8; ++i) EXPECT_EQ(q[static_cast<std::size_t>(i)], 0);
  std::mt19937 rng(11);
  std::vector<float> long_row = random_vector(37, rng);
  long_row[36] = -9.0f;
  std::vector<std::int8_t> lq(long_row.size());
  float scale = 0;
  cpu::quantize_rows(long_row.data(), 1, 37, lq.data(), &scale);
  EXPECT_FLOAT_EQ(scale, 9.0f / 127.0f);
  for (std::size_t i = 0; i < long_row.size(); ++i) EXPECT_NEAR(lq[i] * scale, long_row[i], 0.5f * scale + 1e-6f);
}

// The int8 epilogues against the same math done step by step in double.
TEST(Kernels, Int8EpiloguesScaleBackAndFuseWhatFollows) {
  std::mt19937 rng(12);
  const std::int64_t rows = 5, cols = 40;
  std::vector<std::int32_t> acc(static_cast<std::size_t>(rows * cols));
  std::uniform_int_distribution<std::int32_t> sums(-200000, 200000);
  for (auto& a : acc) a = sums(rng);
  std::vector<float> row_scale{0.01f, 0.02f, 0.0f, 0.005f, 0.03f};
  std::vector<float> col_scale = random_vector(cols, rng, 1e-3f), bias = random_vector(cols, rng);
  for (auto& c : col_scale) c = std::fabs(c);
  cpu::Int8Product p{acc.data(), row_scale.data(), col_scale.data(), bias.data()};
  auto product = [&](std::int64_t r, std::int64_t c) {
    auto i = static_cast<std::size_t>(r * cols + c);
    return static_cast<double>(acc[i]) * row_scale[static_cast<std::size_t>(r)] * col_scale[static_cast<std::size_t>(c)] +
           bias[static_cast<std::size_t>(c)];
  };
  std::vector<float> y(acc.size());
  cpu::dequantize(p, rows, cols, y.data());
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c) EXPECT_NEAR(y[static_cast<std::size_t>(r * cols + c)], product(r, c), 1e-4);
  }
  // GELU, then quantised per row: q · scale reproduces GELU(product) to half a step.
  std::vector<std::int8_t> q(acc.size());
  std::vector<float> scales(rows);
  cpu::dequantize_activation_quantize(p, rows, cols, Activation::kGeluErf, q.data(), scales.data());
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c) {
      double x = product(r, c), want = 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
      EXPECT_NEAR(q[static_cast<std::size_t>(r * cols + c)] * scales[static_cast<std::size_t>(r)], want,
                  0.5 * scales[static_cast<std::size_t>(r)] + 1e-4);
    }
  }
  // Residual and LayerNorm: y = LN(product + residual), and its quantised copy.
  std::vector<float> residual = random_vector(acc.size(), rng), gamma = random_vector(cols, rng),
                     beta = random_vector(cols, rng);
  cpu::dequantize_residual_norm_quantize(p, rows, cols, residual.data(), gamma.data(), beta.data(), 1e-12f, y.data(),
                                         q.data(), scales.data());
  for (std::int64_t r = 0; r < rows; ++r) {
    std::vector<double> sum(static_cast<std::size_t>(cols));
    double mean = 0, var = 0;
    for (std::int64_t c = 0; c < cols; ++c) {
      sum[static_cast<std::size_t>(c)] = product(r, c) + residual[static_cast<std::size_t>(r * cols + c)];
      mean += sum[static_cast<std::size_t>(c)] / cols;
    }
    for (double v : sum) var += (v - mean) * (v - mean) / cols;
    for (std::int64_t c = 0; c < cols; ++c) {
      auto i = static_cast<std::size_t>(r * cols + c);
      double want = (sum[static_cast<std::size_t>(c)] - mean) / std::sqrt(var + 1e-12) * gamma[static_cast<std::size_t>(c)] +
                    beta[static_cast<std::size_t>(c)];
      EXPECT_NEAR(y[i], want, 1e-4);
      EXPECT_NEAR(q[i] * scales[static_cast<std::size_t>(r)], y[i], 0.5 * scales[static_cast<std::size_t>(r)] + 1e-6);
    }
  }
}

TEST(Numeric, HalfAndBfloat16Conversions) {
  EXPECT_EQ(half_to_float(0x3C00), 1.0f);
  EXPECT_EQ(half_to_float(0xC000), -2.0f);
  EXPECT_EQ(half_to_float(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_TRUE(std::isinf(half_to_float(0x7C00)));
  EXPECT_TRUE(std::isnan(half_to_float(0x7E00)));
  EXPECT_EQ(bf16_to_float(0x3F80), 1.0f);
  EXPECT_EQ(float_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(float_to_bf16(1.00390625f), 0x3F80);  // halfway: ties to even
  EXPECT_EQ(float_to_bf16(1.01171875f), 0x3F82);  // halfway: ties to even (up)
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::nanf("")))));
}

}  // namespace
}  // namespace airlock::engine
