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

// Scalar helpers shared with the heads and tests.
float activate(float x, Activation act);

}  // namespace airlock::engine::cpu
