#include "engine/cpu/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/numeric.h"

// Hot loops get one clone per instruction set; the loader picks the best the CPU has (GCC; clang
// cannot clone templates, and sanitizer builds need no speed).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define AIRLOCK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define AIRLOCK_CLONES
#endif

namespace airlock::engine::cpu {
namespace {

// exp(x) by range reduction to [-ln2/2, ln2/2] and a degree-6 polynomial (relative error ~2e-7),
// written without branches so that loops over it vectorize.
inline float fast_exp(float x) {
  x = std::min(88.3762626647949f, std::max(-87.3365447504f, x));
  float n = x * 1.44269504088896341f + 12582912.0f;  // round to nearest via the float mantissa
  n -= 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  std::int32_t bits = (static_cast<std::int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return p * scale;
}

// erf(x) with the Abramowitz–Stegun 7.1.26 rational form refined: max abs error 1.5e-7.
inline float fast_erf(float x) {
  float a = std::fabs(x);
  float t = 1.0f / (1.0f + 0.3275911f * a);
  float y = 1.0f - (((((1.061405429f * t - 1.453152027f) * t) + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) *
                       t * fast_exp(-a * a);
  return std::copysign(y, x);
}

inline float fast_tanh(float x) {
  // tanh(x) = 1 - 2 / (exp(2x) + 1); exact enough away from 0, and near 0 use x - x^3/3.
  float e = fast_exp(2.0f * x);
  float t = 1.0f - 2.0f / (e + 1.0f);
  return std::fabs(x) < 0.0004f ? x : t;
}

template <Activation kAct>
inline float apply(float x) {
  if constexpr (kAct == Activation::kGeluErf) {
    return 0.5f * x * (1.0f + fast_erf(x * 0.70710678118654752f));
  } else if constexpr (kAct == Activation::kGeluTanh) {
    return 0.5f * x * (1.0f + fast_tanh(0.79788456080286536f * (x + 0.044715f * x * x * x)));
  } else if constexpr (kAct == Activation::kQuickGelu) {
    return x / (1.0f + fast_exp(-1.702f * x));
  } else if constexpr (kAct == Activation::kRelu) {
    return std::max(0.0f, x);
  } else if constexpr (kAct == Activation::kSilu) {
    return x / (1.0f + fast_exp(-x));
  } else if constexpr (kAct == Activation::kTanh) {
    return fast_tanh(x);
  } else {
    return std::min(10.0f, std::max(-10.0f, 0.5f * x * (1.0f + fast_erf(x * 0.70710678118654752f))));
  }
}

template <Activation kAct>
AIRLOCK_CLONES void bias_activation_rows(float* y, std::int64_t rows, std::int64_t cols, const float* bias) {
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = y + r * cols;
    if (bias != nullptr) {
      for (std::int64_t c = 0; c < cols; ++c) row[c] = apply<kAct>(row[c] + bias[c]);
    } else {
      for (std::int64_t c = 0; c < cols; ++c) row[c] = apply<kAct>(row[c]);
    }
  }
}

AIRLOCK_CLONES void normalize_row(float* x, std::int64_t n, const float* gamma, const float* beta, float eps,
                                  std::uint16_t* out_bf16) {
  float sum = 0;
  for (std::int64_t i = 0; i < n; ++i) sum += x[i];
  float mean = sum / static_cast<float>(n);
  float sq = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    float v = x[i] - mean;
    sq += v * v;
  }
  float inv = 1.0f / std::sqrt(sq / static_cast<float>(n) + eps);
  for (std::int64_t i = 0; i < n; ++i) x[i] = (x[i] - mean) * inv * gamma[i] + beta[i];
  if (out_bf16 != nullptr) {
    for (std::int64_t i = 0; i < n; ++i) out_bf16[i] = float_to_bf16(x[i]);
  }
}

// One (sequence, head): scores = Q·Kᵀ/√d, softmax over the sequence's own keys, ctx = P·V.
// Kᵀ is staged in `kt` so that both products run along contiguous rows in 4-row blocks. `q`
// points at the head's Q of the first token; K and V follow `hidden` and 2·`hidden` floats later.
template <int kHeadDim>
AIRLOCK_CLONES void attention_head(const float* q, std::int64_t stride, std::int64_t hidden, std::int64_t length,
                                   std::int64_t head_dim, float* kt, float* scores, float* ctx,
                                   std::uint16_t* ctx_bf16) {
  const std::int64_t dh = kHeadDim > 0 ? kHeadDim : head_dim;
  const std::int64_t padded = (length + 15) & ~std::int64_t{15};
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  const float* keys = q + hidden;
  const float* values = q + 2 * hidden;
  for (std::int64_t j = 0; j < length; ++j) {
    const float* key = keys + j * stride;
    for (std::int64_t c = 0; c < dh; ++c) kt[c * padded + j] = key[c] * scale;
  }
  for (std::int64_t c = 0; c < dh; ++c) {
    for (std::int64_t j = length; j < padded; ++j) kt[c * padded + j] = 0;
  }
  float* s0 = scores;
  float* s1 = scores + padded;
  float* s2 = scores + 2 * padded;
  float* s3 = scores + 3 * padded;
  float* rows_of[4] = {s0, s1, s2, s3};
  for (std::int64_t i0 = 0; i0 < length; i0 += 4) {
    const std::int64_t rows = std::min<std::int64_t>(4, length - i0);
    std::fill(scores, scores + 4 * padded, 0.0f);
    for (std::int64_t c = 0; c < dh; ++c) {
      const float* ktc = kt + c * padded;
      const float q0 = q[i0 * stride + c];
      const float q1 = rows > 1 ? q[(i0 + 1) * stride + c] : 0.0f;
      const float q2 = rows > 2 ? q[(i0 + 2) * stride + c] : 0.0f;
      const float q3 = rows > 3 ? q[(i0 + 3) * stride + c] : 0.0f;
      for (std::int64_t j = 0; j < padded; ++j) {
        const float kv = ktc[j];
        s0[j] += q0 * kv;
        s1[j] += q1 * kv;
        s2[j] += q2 * kv;
        s3[j] += q3 * kv;
      }
    }
    for (std::int64_t r = 0; r < rows; ++r) {
      float* row = rows_of[r];
      float m = row[0];
      for (std::int64_t j = 1; j < length; ++j) m = std::max(m, row[j]);
      float sum = 0;
      for (std::int64_t j = 0; j < length; ++j) {
        row[j] = fast_exp(row[j] - m);
        sum += row[j];
      }
      const float inv = 1.0f / sum;
      for (std::int64_t j = 0; j < length; ++j) row[j] *= inv;
    }
    float acc[4][kHeadDim > 0 ? kHeadDim : 256];
    for (int r = 0; r < 4; ++r) std::fill(acc[r], acc[r] + dh, 0.0f);
    for (std::int64_t j = 0; j < length; ++j) {
      const float* v = values + j * stride;
      const float p0 = s0[j], p1 = s1[j], p2 = s2[j], p3 = s3[j];
      for (std::int64_t c = 0; c < dh; ++c) {
        const float vv = v[c];
        acc[0][c] += p0 * vv;
        acc[1][c] += p1 * vv;
        acc[2][c] += p2 * vv;
        acc[3][c] += p3 * vv;
      }
    }
    for (std::int64_t r = 0; r < rows; ++r) {
      if (ctx_bf16 != nullptr) {
        std::uint16_t* out = ctx_bf16 + (i0 + r) * hidden;
        for (std::int64_t c = 0; c < dh; ++c) out[c] = float_to_bf16(acc[r][c]);
      } else {
        float* out = ctx + (i0 + r) * hidden;
        for (std::int64_t c = 0; c < dh; ++c) out[c] = acc[r][c];
      }
    }
  }
}

}  // namespace

float activate(float x, Activation act) {
  switch (act) {
    case Activation::kGeluErf: return apply<Activation::kGeluErf>(x);
    case Activation::kGeluTanh: return apply<Activation::kGeluTanh>(x);
    case Activation::kQuickGelu: return apply<Activation::kQuickGelu>(x);
    case Activation::kRelu: return apply<Activation::kRelu>(x);
    case Activation::kSilu: return apply<Activation::kSilu>(x);
    case Activation::kTanh: return apply<Activation::kTanh>(x);
    case Activation::kGelu10: return apply<Activation::kGelu10>(x);
  }
  return x;
}

void embed(const std::int32_t* ids, const std::int32_t* positions, const std::int32_t* type_ids, std::int64_t tokens,
           const float* word, const float* position, const float* type, std::int64_t hidden, const float* gamma,
           const float* beta, float eps, float* out, std::uint16_t* out_bf16) {
#pragma omp parallel for schedule(static)
  for (std::int64_t t = 0; t < tokens; ++t) {
    const float* w = word + static_cast<std::int64_t>(ids[t]) * hidden;
    const float* p = position + static_cast<std::int64_t>(positions[t]) * hidden;
    const float* y = type + static_cast<std::int64_t>(type_ids[t]) * hidden;
    float* o = out + t * hidden;
    for (std::int64_t c = 0; c < hidden; ++c) o[c] = w[c] + p[c] + y[c];
    normalize_row(o, hidden, gamma, beta, eps, out_bf16 != nullptr ? out_bf16 + t * hidden : nullptr);
  }
}

void layer_norm(float* x, std::int64_t rows, std::int64_t hidden, const float* gamma, const float* beta, float eps,
                std::uint16_t* out_bf16) {
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    normalize_row(x + r * hidden, hidden, gamma, beta, eps, out_bf16 != nullptr ? out_bf16 + r * hidden : nullptr);
  }
}

void bias_activation(float* y, std::int64_t rows, std::int64_t cols, const float* bias, Activation act) {
  switch (act) {
    case Activation::kGeluErf: bias_activation_rows<Activation::kGeluErf>(y, rows, cols, bias); break;
    case Activation::kGeluTanh: bias_activation_rows<Activation::kGeluTanh>(y, rows, cols, bias); break;
    case Activation::kQuickGelu: bias_activation_rows<Activation::kQuickGelu>(y, rows, cols, bias); break;
    case Activation::kRelu: bias_activation_rows<Activation::kRelu>(y, rows, cols, bias); break;
    case Activation::kSilu: bias_activation_rows<Activation::kSilu>(y, rows, cols, bias); break;
    case Activation::kTanh: bias_activation_rows<Activation::kTanh>(y, rows, cols, bias); break;
    case Activation::kGelu10: bias_activation_rows<Activation::kGelu10>(y, rows, cols, bias); break;
  }
}

void bias_residual(float* y, std::int64_t rows, std::int64_t cols, const float* bias, const float* residual) {
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = y + r * cols;
    if (residual == nullptr) {
      for (std::int64_t c = 0; c < cols; ++c) row[c] += bias[c];
    } else {
      const float* res = residual + r * cols;
      for (std::int64_t c = 0; c < cols; ++c) row[c] += bias[c] + res[c];
    }
  }
}

void attention(const float* qkv, const std::int32_t* offsets, std::int64_t sequences, std::int64_t heads,
               std::int64_t hidden, float* ctx, std::uint16_t* ctx_bf16) {
  const std::int64_t dh = hidden / heads;
  const std::int64_t stride = 3 * hidden;
  std::int64_t max_length = 0;
  for (std::int64_t s = 0; s < sequences; ++s) max_length = std::max<std::int64_t>(max_length, offsets[s + 1] - offsets[s]);
  const std::int64_t padded = (max_length + 15) & ~std::int64_t{15};
  const std::int64_t pairs = sequences * heads;
#pragma omp parallel
  {
    std::vector<float> kt(static_cast<std::size_t>(dh * padded));
    std::vector<float> scores(static_cast<std::size_t>(4 * padded));
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t pair = 0; pair < pairs; ++pair) {
      std::int64_t s = pair / heads, h = pair % heads;
      std::int64_t begin = offsets[s], length = offsets[s + 1] - offsets[s];
      if (length == 0) continue;
      const float* q = qkv + begin * stride + h * dh;
      float* out = ctx != nullptr ? ctx + begin * hidden + h * dh : nullptr;
      std::uint16_t* out16 = ctx_bf16 != nullptr ? ctx_bf16 + begin * hidden + h * dh : nullptr;
      if (dh == 32) {
        attention_head<32>(q, stride, hidden, length, dh, kt.data(), scores.data(), out, out16);
      } else if (dh == 64) {
        attention_head<64>(q, stride, hidden, length, dh, kt.data(), scores.data(), out, out16);
      } else if (dh == 128) {
        attention_head<128>(q, stride, hidden, length, dh, kt.data(), scores.data(), out, out16);
      } else {
        attention_head<0>(q, stride, hidden, length, dh, kt.data(), scores.data(), out, out16);
      }
    }
  }
}

void to_bf16(const float* x, std::uint16_t* out, std::int64_t n) {
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) out[i] = float_to_bf16(x[i]);
}

}  // namespace airlock::engine::cpu
