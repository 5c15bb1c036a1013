// The CPU kernels around the matrix products: embeddings, LayerNorm, activations, attention over
// unpadded sequences. Each runs on the calling thread's OpenMP team; hot loops are compiled for
// AVX-512, AVX2 and a baseline, chosen at run time.
#pragma once

#include <cstdint>

#include "engine/model_config.h"

namespace airlock::engine::cpu {

// x[t] = word[id] + position[p] + type[tt], then LayerNorm.
void embed(const std::int32_t* ids, const std::int32_t* positions, const std::int32_t* type_ids, std::int64_t tokens,
           const float* word, const float* position, const float* type, std::int64_t hidden, const float* gamma,
           const float* beta, float eps, float* out, std::uint16_t* out_bf16);

// In place: x = LayerNorm(x) row by row. When `out_bf16` is given, also writes a bf16 copy.
void layer_norm(float* x, std::int64_t rows, std::int64_t hidden, const float* gamma, const float* beta, float eps,
                std::uint16_t* out_bf16);

// y = act(y + bias) (bias may be null), in place.
void bias_activation(float* y, std::int64_t rows, std::int64_t cols, const float* bias, Activation act);
// y = y + bias (+ residual when given), in place.
void bias_residual(float* y, std::int64_t rows, std::int64_t cols, const float* bias, const float* residual);

// Multi-head attention for sequences packed without padding. qkv: [tokens, 3 * hidden] (Q, K, V
// side by side); ctx: [tokens, hidden] (or bf16 when ctx_bf16 is given).
void attention(const float* qkv, const std::int32_t* offsets, std::int64_t sequences, std::int64_t heads,
               std::int64_t hidden, float* ctx, std::uint16_t* ctx_bf16);

void to_bf16(const float* x, std::uint16_t* out, std::int64_t n);

// The int8 path quantises each row (token) on its own, symmetrically: q = round(x / s) with
// s = max|x| / 127, so one outlier token does not cost the others their resolution.
void quantize_rows(const float* x, std::int64_t rows, std::int64_t cols, std::int8_t* q, float* scales);

// An int8 product back in fp32: acc[r, c] · row_scale[r] · col_scale[c] + bias[c].
struct Int8Product {
  const std::int32_t* acc = nullptr;
  const float* row_scale = nullptr;  // the input's per-row scales
  const float* col_scale = nullptr;  // the weights' per-output-channel scales
  const float* bias = nullptr;
};
// y = the product (fp32).
void dequantize(const Int8Product& p, std::int64_t rows, std::int64_t cols, float* y);
// q, scales = quantize_rows(act(product)): the activation's fp32 values never reach memory.
void dequantize_activation_quantize(const Int8Product& p, std::int64_t rows, std::int64_t cols, Activation act,
                                    std::int8_t* q, float* scales);
// y = LayerNorm(product + residual); q, scales = quantize_rows(y). y must not alias residual.
void dequantize_residual_norm_quantize(const Int8Product& p, std::int64_t rows, std::int64_t cols, const float* residual,
                                       const float* gamma, const float* beta, float eps, float* y, std::int8_t* q,
                                       float* scales);

// Scalar helpers shared with the heads and tests.
float activate(float x, Activation act);

}  // namespace airlock::engine::cpu
