#include "engine/pooling.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace airlock::engine {

void pool(const float* states, std::int64_t length, std::int64_t hidden, std::span<const PoolingMode> modes,
          std::int64_t skip, std::vector<float>& out) {
  const auto d = static_cast<std::size_t>(hidden);
  skip = std::clamp<std::int64_t>(skip, 0, length);
  std::vector<double> acc(d);
  for (PoolingMode mode : modes) {
    std::size_t base = out.size();
    out.resize(base + d, 0.0f);
    float* o = out.data() + base;
    switch (mode) {
      case PoolingMode::kCls:
        if (length > 0) std::copy(states, states + d, o);
        break;
      case PoolingMode::kLastToken:
        if (length > 0) std::copy(states + (length - 1) * hidden, states + length * hidden, o);
        break;
      case PoolingMode::kMax: {
        std::fill(o, o + d, -std::numeric_limits<float>::max());
        if (length <= skip) std::fill(o, o + d, 0.0f);
        for (std::int64_t t = skip; t < length; ++t) {
          const float* row = states + t * hidden;
          for (std::size_t c = 0; c < d; ++c) o[c] = std::max(o[c], row[c]);
        }
        break;
      }
      case PoolingMode::kMean:
      case PoolingMode::kMeanSqrtLen:
      case PoolingMode::kWeightedMean: {
        std::fill(acc.begin(), acc.end(), 0.0);
        double weight_sum = 0;
        for (std::int64_t t = skip; t < length; ++t) {
          double w = mode == PoolingMode::kWeightedMean ? static_cast<double>(t + 1) : 1.0;
          const float* row = states + t * hidden;
          for (std::size_t c = 0; c < d; ++c) acc[c] += w * row[c];
          weight_sum += w;
        }
        double divisor = mode == PoolingMode::kMeanSqrtLen ? std::sqrt(weight_sum) : std::max(weight_sum, 1e-9);
        if (divisor == 0) divisor = 1;
        for (std::size_t c = 0; c < d; ++c) o[c] = static_cast<float>(acc[c] / divisor);
        break;
      }
    }
  }
}

std::vector<float> apply_dense(const DenseLayer& dense, std::span<const float> x) {
  std::vector<float> y(static_cast<std::size_t>(dense.out_features));
  for (std::int64_t o = 0; o < dense.out_features; ++o) {
    const float* w = dense.weight.data() + o * dense.in_features;
    double s = dense.bias ? dense.bias_values[static_cast<std::size_t>(o)] : 0.0;
    for (std::int64_t i = 0; i < dense.in_features; ++i) s += static_cast<double>(w[i]) * x[static_cast<std::size_t>(i)];
    y[static_cast<std::size_t>(o)] = dense.activation == "Tanh" ? static_cast<float>(std::tanh(s)) : static_cast<float>(s);
  }
  return y;
}

void l2_normalize(std::span<float> x) {
  double sq = 0;
  for (float v : x) sq += static_cast<double>(v) * v;
  double norm = std::max(std::sqrt(sq), 1e-12);
  for (float& v : x) v = static_cast<float>(v / norm);
}

}  // namespace airlock::engine
