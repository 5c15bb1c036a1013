#include "engine/cpu/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
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

// Element-wise passes smaller than this run on the calling thread alone: waking a passively
// waiting OpenMP thread costs more than it saves there (a 128 x 384 LayerNorm took 32 µs on two
// woken threads, 17 µs on one).
constexpr std::int64_t kParallelElements = 1 << 17;

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

// 16 floats: one AVX-512 register (two AVX2 ones, four SSE ones on the other clones).
typedef float Vec16 __attribute__((vector_size(64)));
typedef std::int32_t Int16 __attribute__((vector_size(64)));

// Unaligned loads and stores; macros, because passing 64-byte vectors to functions would change
// the calling convention between the clones.
#define AIRLOCK_LOAD16(v, p) std::memcpy(&(v), (p), sizeof(Vec16))
#define AIRLOCK_STORE16(p, v) std::memcpy((p), &(v), sizeof(Vec16))

// fast_exp on 16 lanes, in place (same steps as the scalar version).
#define AIRLOCK_EXP16(x)                                                         \
  do {                                                                           \
    x = x < -87.3365447504f ? -87.3365447504f : x;                              \
    x = x > 88.3762626647949f ? 88.3762626647949f : x;                          \
    Vec16 n_ = x * 1.44269504088896341f + 12582912.0f;                          \
    n_ -= 12582912.0f;                                                           \
    Vec16 r_ = x - n_ * 0.693359375f;                                            \
    r_ = r_ - n_ * -2.12194440e-4f;                                              \
    Vec16 p_ = r_ * 1.9875691500e-4f + 1.3981999507e-3f;                        \
    p_ = p_ * r_ + 8.3334519073e-3f;                                             \
    p_ = p_ * r_ + 4.1665795894e-2f;                                             \
    p_ = p_ * r_ + 1.6666665459e-1f;                                             \
    p_ = p_ * r_ + 5.0000001201e-1f;                                             \
    p_ = p_ * r_ * r_ + r_ + 1.0f;                                               \
    Int16 bits_ = (__builtin_convertvector(n_, Int16) + 127) << 23;             \
    x = p_ * __builtin_bit_cast(Vec16, bits_);                                   \
  } while (false)

float horizontal_sum(const float* lanes16) {
  float s = 0;
  for (int i = 0; i < 16; ++i) s += lanes16[i];
  return s;
}

template <Activation kAct>
AIRLOCK_CLONES void bias_activation_rows(float* y, std::int64_t rows, std::int64_t cols, const float* bias) {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelElements)
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
  // Sums in 16 lanes (the compiler may not reorder a scalar float sum itself).
  const std::int64_t full = n / 16 * 16;
  Vec16 acc = {};
  for (std::int64_t i = 0; i < full; i += 16) {
    Vec16 v;
    AIRLOCK_LOAD16(v, x + i);
    acc += v;
  }
  float lanes[16];
  AIRLOCK_STORE16(lanes, acc);
  float sum = horizontal_sum(lanes);
  for (std::int64_t i = full; i < n; ++i) sum += x[i];
  const float mean = sum / static_cast<float>(n);
  Vec16 sq = {};
  for (std::int64_t i = 0; i < full; i += 16) {
    Vec16 v;
    AIRLOCK_LOAD16(v, x + i);
    v -= mean;
    sq += v * v;
  }
  AIRLOCK_STORE16(lanes, sq);
  float squares = horizontal_sum(lanes);
  for (std::int64_t i = full; i < n; ++i) squares += (x[i] - mean) * (x[i] - mean);
  const float inv = 1.0f / std::sqrt(squares / static_cast<float>(n) + eps);
  for (std::int64_t i = 0; i < n; ++i) x[i] = (x[i] - mean) * inv * gamma[i] + beta[i];
  if (out_bf16 != nullptr) {
    for (std::int64_t i = 0; i < n; ++i) out_bf16[i] = float_to_bf16(x[i]);
  }
}

// One (sequence, head): scores = Q·Kᵀ/√d, softmax over the sequence's own keys, ctx = P·V.
// Kᵀ is staged in `kt` so that both products are register-tiled micro-kernels: 4 queries × 32
// keys, then 4 queries × 32 output dims, each step a broadcast and whole-register FMAs. `q`
// points at the head's Q of the first token; K and V follow `hidden` and 2·`hidden` floats later.
AIRLOCK_CLONES void attention_head(const float* q, std::int64_t stride, std::int64_t hidden, std::int64_t length,
                                   std::int64_t dh, float* __restrict kt, float* __restrict scores,
                                   float* __restrict qbuf, float* ctx, std::uint16_t* ctx_bf16) {
  constexpr int kRows = 4;
  const std::int64_t padded = (length + 31) / 32 * 32;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  const float* keys = q + hidden;
  const float* values = q + 2 * hidden;
  for (std::int64_t j = 0; j < length; ++j) {
    const float* key = keys + j * stride;
    for (std::int64_t c = 0; c < dh; ++c) kt[c * padded + j] = key[c];
  }
  for (std::int64_t c = 0; c < dh; ++c) {
    for (std::int64_t j = length; j < padded; ++j) kt[c * padded + j] = 0;
  }
  const std::int64_t full = dh / 32 * 32;  // output dims done 32 at a time; the rest one by one
  for (std::int64_t i0 = 0; i0 < length; i0 += kRows) {
    const std::int64_t rows = std::min<std::int64_t>(kRows, length - i0);
    float inv_sum[kRows] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (std::int64_t c = 0; c < dh; ++c) {
      for (int r = 0; r < kRows; ++r) qbuf[c * kRows + r] = r < rows ? q[(i0 + r) * stride + c] * scale : 0.0f;
    }
    for (std::int64_t j0 = 0; j0 < padded; j0 += 32) {
      Vec16 a0 = {}, a1 = {}, a2 = {}, a3 = {}, b0 = {}, b1 = {}, b2 = {}, b3 = {};
      for (std::int64_t c = 0; c < dh; ++c) {
        Vec16 k0, k1;
        AIRLOCK_LOAD16(k0, kt + c * padded + j0);
        AIRLOCK_LOAD16(k1, kt + c * padded + j0 + 16);
        const float* q4 = qbuf + c * kRows;
        a0 += q4[0] * k0;
        b0 += q4[0] * k1;
        a1 += q4[1] * k0;
        b1 += q4[1] * k1;
        a2 += q4[2] * k0;
        b2 += q4[2] * k1;
        a3 += q4[3] * k0;
        b3 += q4[3] * k1;
      }
      AIRLOCK_STORE16(scores + 0 * padded + j0, a0);
      AIRLOCK_STORE16(scores + 0 * padded + j0 + 16, b0);
      AIRLOCK_STORE16(scores + 1 * padded + j0, a1);
      AIRLOCK_STORE16(scores + 1 * padded + j0 + 16, b1);
      AIRLOCK_STORE16(scores + 2 * padded + j0, a2);
      AIRLOCK_STORE16(scores + 2 * padded + j0 + 16, b2);
      AIRLOCK_STORE16(scores + 3 * padded + j0, a3);
      AIRLOCK_STORE16(scores + 3 * padded + j0 + 16, b3);
    }
    for (std::int64_t r = 0; r < rows; ++r) {
      // Softmax over the sequence's keys in 16-lane steps; the padding keys get -inf so that
      // they weigh exactly 0.
      float* __restrict row = scores + r * padded;
      for (std::int64_t j = length; j < padded; ++j) row[j] = -std::numeric_limits<float>::infinity();
      Vec16 vmax;
      AIRLOCK_LOAD16(vmax, row);
      for (std::int64_t j = 16; j < padded; j += 16) {
        Vec16 v;
        AIRLOCK_LOAD16(v, row + j);
        vmax = v > vmax ? v : vmax;
      }
      float lanes[16];
      AIRLOCK_STORE16(lanes, vmax);
      float m = lanes[0];
      for (int k = 1; k < 16; ++k) m = std::max(m, lanes[k]);
      Vec16 vsum = {};
      for (std::int64_t j = 0; j < padded; j += 16) {
        Vec16 v;
        AIRLOCK_LOAD16(v, row + j);
        const Int16 real = v > -std::numeric_limits<float>::infinity();
        v -= m;
        AIRLOCK_EXP16(v);
        const Vec16 zero = {};
        v = real ? v : zero;  // exp clamps its input, so the padding lanes must be zeroed here
        vsum += v;
        AIRLOCK_STORE16(row + j, v);
      }
      AIRLOCK_STORE16(lanes, vsum);
      // The row stays unnormalised: its 1/sum scales the row's output once, below.
      inv_sum[r] = 1.0f / horizontal_sum(lanes);
    }
    for (std::int64_t r = rows; r < kRows; ++r) std::fill(scores + r * padded, scores + r * padded + length, 0.0f);
    auto emit = [&](std::int64_t r, std::int64_t c, float v) {
      if (ctx_bf16 != nullptr) {
        ctx_bf16[(i0 + r) * hidden + c] = float_to_bf16(v);
      } else {
        ctx[(i0 + r) * hidden + c] = v;
      }
    };
    for (std::int64_t c0 = 0; c0 < full; c0 += 32) {
      Vec16 a0 = {}, a1 = {}, a2 = {}, a3 = {}, b0 = {}, b1 = {}, b2 = {}, b3 = {};
      for (std::int64_t j = 0; j < length; ++j) {
        Vec16 v0, v1;
        AIRLOCK_LOAD16(v0, values + j * stride + c0);
        AIRLOCK_LOAD16(v1, values + j * stride + c0 + 16);
        const float p0 = scores[j], p1 = scores[padded + j], p2 = scores[2 * padded + j], p3 = scores[3 * padded + j];
        a0 += p0 * v0;
        b0 += p0 * v1;
        a1 += p1 * v0;
        b1 += p1 * v1;
        a2 += p2 * v0;
        b2 += p2 * v1;
        a3 += p3 * v0;
        b3 += p3 * v1;
      }
      const Vec16 out[kRows][2] = {{a0 * inv_sum[0], b0 * inv_sum[0]},
                                   {a1 * inv_sum[1], b1 * inv_sum[1]},
                                   {a2 * inv_sum[2], b2 * inv_sum[2]},
                                   {a3 * inv_sum[3], b3 * inv_sum[3]}};
      for (std::int64_t r = 0; r < rows; ++r) {
        if (ctx_bf16 == nullptr) {
          AIRLOCK_STORE16(ctx + (i0 + r) * hidden + c0, out[r][0]);
          AIRLOCK_STORE16(ctx + (i0 + r) * hidden + c0 + 16, out[r][1]);
          continue;
        }
        for (int half = 0; half < 2; ++half) {
          for (int cc = 0; cc < 16; ++cc) emit(r, c0 + half * 16 + cc, out[r][half][cc]);
        }
      }
    }
    for (std::int64_t c = full; c < dh; ++c) {
      float acc[kRows] = {};
      for (std::int64_t j = 0; j < length; ++j) {
        const float v = values[j * stride + c];
        for (int r = 0; r < kRows; ++r) acc[r] += scores[r * padded + j] * v;
      }
      for (std::int64_t r = 0; r < rows; ++r) emit(r, c, acc[r] * inv_sum[r]);
    }
  }
}

// max|x| in 16 lanes.
AIRLOCK_CLONES float max_abs(const float* x, std::int64_t n) {
  const std::int64_t full = n / 16 * 16;
  Vec16 acc = {};
  for (std::int64_t i = 0; i < full; i += 16) {
    Vec16 v;
    AIRLOCK_LOAD16(v, x + i);
    v = v < 0 ? -v : v;
    acc = v > acc ? v : acc;
  }
  float lanes[16];
  AIRLOCK_STORE16(lanes, acc);
  float m = 0;
  for (int i = 0; i < 16; ++i) m = std::max(m, lanes[i]);
  for (std::int64_t i = full; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  return m;
}

// One row to int8, rounding half away from zero; an all-zero row gets scale 0 and zeros.
AIRLOCK_CLONES void quantize_row(const float* x, std::int64_t n, std::int8_t* q, float* scale) {
  const float m = max_abs(x, n);
  *scale = m / 127.0f;
  const float inv = m > 0 ? 127.0f / m : 0.0f;
  for (std::int64_t i = 0; i < n; ++i) {
    const float v = x[i] * inv;
    q[i] = static_cast<std::int8_t>(static_cast<std::int32_t>(v + (v >= 0 ? 0.5f : -0.5f)));
  }
}

AIRLOCK_CLONES void dequantize_row(const Int8Product& p, std::int64_t r, std::int64_t cols, float* out) {
  const std::int32_t* acc = p.acc + r * cols;
  const float rs = p.row_scale[r];
  for (std::int64_t c = 0; c < cols; ++c) out[c] = static_cast<float>(acc[c]) * (rs * p.col_scale[c]) + p.bias[c];
}

// Per-thread row buffer that only grows.
float* row_buffer(std::int64_t cols) {
  thread_local std::vector<float> row;
  if (row.size() < static_cast<std::size_t>(cols)) row.resize(static_cast<std::size_t>(cols));
  return row.data();
}

template <Activation kAct>
AIRLOCK_CLONES void dequantize_activation_quantize_rows(const Int8Product& p, std::int64_t rows, std::int64_t cols,
                                                        std::int8_t* q, float* scales) {
#pragma omp parallel if (rows * cols >= kParallelElements)
  {
    float* row = row_buffer(cols);
#pragma omp for schedule(static)
    for (std::int64_t r = 0; r < rows; ++r) {
      dequantize_row(p, r, cols, row);
      for (std::int64_t c = 0; c < cols; ++c) row[c] = apply<kAct>(row[c]);
      quantize_row(row, cols, q + r * cols, scales + r);
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
#pragma omp parallel for schedule(static) if (tokens * hidden >= kParallelElements)
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
#pragma omp parallel for schedule(static) if (rows * hidden >= kParallelElements)
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
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelElements)
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
  const std::int64_t padded = (max_length + 31) / 32 * 32;
  const std::int64_t pairs = sequences * heads;
  // Work in multiply-adds: below this a parallel team costs more than it saves.
  const std::int64_t work = pairs * max_length * max_length * dh;
#pragma omp parallel if (work >= 4 * kParallelElements)
  {
    // Per-thread scratch that only ever grows: no allocation once the largest batch was seen.
    thread_local std::vector<float> kt, scores, qbuf;
    if (kt.size() < static_cast<std::size_t>(dh * padded)) kt.resize(static_cast<std::size_t>(dh * padded));
    if (scores.size() < static_cast<std::size_t>(4 * padded)) scores.resize(static_cast<std::size_t>(4 * padded));
    if (qbuf.size() < static_cast<std::size_t>(4 * dh)) qbuf.resize(static_cast<std::size_t>(4 * dh));
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t pair = 0; pair < pairs; ++pair) {
      std::int64_t s = pair / heads, h = pair % heads;
      std::int64_t begin = offsets[s], length = offsets[s + 1] - offsets[s];
      if (length == 0) continue;
      const float* q = qkv + begin * stride + h * dh;
      float* out = ctx != nullptr ? ctx + begin * hidden + h * dh : nullptr;
      std::uint16_t* out16 = ctx_bf16 != nullptr ? ctx_bf16 + begin * hidden + h * dh : nullptr;
      attention_head(q, stride, hidden, length, dh, kt.data(), scores.data(), qbuf.data(), out, out16);
    }
  }
}

void to_bf16(const float* x, std::uint16_t* out, std::int64_t n) {
#pragma omp parallel for schedule(static) if (n >= kParallelElements)
  for (std::int64_t i = 0; i < n; ++i) out[i] = float_to_bf16(x[i]);
}


void quantize_rows(const float* x, std::int64_t rows, std::int64_t cols, std::int8_t* q, float* scales) {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelElements)
  for (std::int64_t r = 0; r < rows; ++r) quantize_row(x + r * cols, cols, q + r * cols, scales + r);
}

void dequantize(const Int8Product& p, std::int64_t rows, std::int64_t cols, float* y) {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelElements)
  for (std::int64_t r = 0; r < rows; ++r) dequantize_row(p, r, cols, y + r * cols);
}

void dequantize_activation_quantize(const Int8Product& p, std::int64_t rows, std::int64_t cols, Activation act,
                                    std::int8_t* q, float* scales) {
  switch (act) {
    case Activation::kGeluErf: dequantize_activation_quantize_rows<Activation::kGeluErf>(p, rows, cols, q, scales); break;
    case Activation::kGeluTanh: dequantize_activation_quantize_rows<Activation::kGeluTanh>(p, rows, cols, q, scales); break;
    case Activation::kQuickGelu: dequantize_activation_quantize_rows<Activation::kQuickGelu>(p, rows, cols, q, scales); break;
    case Activation::kRelu: dequantize_activation_quantize_rows<Activation::kRelu>(p, rows, cols, q, scales); break;
    case Activation::kSilu: dequantize_activation_quantize_rows<Activation::kSilu>(p, rows, cols, q, scales); break;
    case Activation::kTanh: dequantize_activation_quantize_rows<Activation::kTanh>(p, rows, cols, q, scales); break;
    case Activation::kGelu10: dequantize_activation_quantize_rows<Activation::kGelu10>(p, rows, cols, q, scales); break;
  }
}

void dequantize_residual_norm_quantize(const Int8Product& p, std::int64_t rows, std::int64_t cols, const float* residual,
                                       const float* gamma, const float* beta, float eps, float* y, std::int8_t* q,
                                       float* scales) {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelElements)
  for (std::int64_t r = 0; r < rows; ++r) {
    float* out = y + r * cols;
    dequantize_row(p, r, cols, out);
    const float* res = residual + r * cols;
    for (std::int64_t c = 0; c < cols; ++c) out[c] += res[c];
    normalize_row(out, cols, gamma, beta, eps, nullptr);
    quantize_row(out, cols, q + r * cols, scales + r);
  }
}

}  // namespace airlock::engine::cpu
