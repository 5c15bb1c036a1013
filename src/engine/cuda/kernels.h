// Launchers for the CUDA kernels (kernels.cu), callable from host C++. `dtype` selects the
// element type of activations and weights: 0 fp32, 1 fp16, 2 bf16.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace airlock::engine::cuda {

enum class ElementType { kFloat32 = 0, kFloat16 = 1, kBFloat16 = 2 };
enum class DeviceActivation { kGeluErf = 0, kGeluTanh = 1, kQuickGelu = 2, kRelu = 3, kSilu = 4, kTanh = 5, kGelu10 = 6 };

// out[t] = LayerNorm(word[id] + position[p] + type[tt]).
cudaError_t launch_embed(ElementType type, const std::int32_t* ids, const std::int32_t* positions,
                         const std::int32_t* type_ids, std::int64_t tokens, const void* word, const void* position,
                         const void* token_type, std::int64_t hidden, const float* gamma, const float* beta, float eps,
                         void* out, cudaStream_t stream);

cudaError_t launch_layer_norm(ElementType type, void* x, std::int64_t rows, std::int64_t hidden, const float* gamma,
                              const float* beta, float eps, cudaStream_t stream);

cudaError_t launch_activation(ElementType type, void* y, std::int64_t n, DeviceActivation act, cudaStream_t stream);

// Attention per (sequence, head) over packed sequences; offsets has sequences + 1 entries.
cudaError_t launch_attention(ElementType type, const void* qkv, const std::int32_t* offsets, std::int64_t sequences,
                             std::int64_t tokens, std::int64_t heads, std::int64_t hidden, void* ctx,
                             cudaStream_t stream);

cudaError_t launch_to_float(ElementType type, const void* x, float* out, std::int64_t n, cudaStream_t stream);

}  // namespace airlock::engine::cuda
