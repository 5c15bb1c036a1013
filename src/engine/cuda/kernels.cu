#include "engine/cuda/kernels.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>

namespace airlock::engine::cuda {
namespace {

template <typename T>
__device__ __forceinline__ float to_f(T x);
template <>
__device__ __forceinline__ float to_f<float>(float x) { return x; }
template <>
__device__ __forceinline__ float to_f<__half>(__half x) { return __half2float(x); }
template <>
__device__ __forceinline__ float to_f<__nv_bfloat16>(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T>
__device__ __forceinline__ T from_f(float x);
template <>
__device__ __forceinline__ float from_f<float>(float x) { return x; }
template <>
__device__ __forceinline__ __half from_f<__half>(float x) { return __float2half_rn(x); }
template <>
__device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

constexpr int kThreads = 256;

// Sum over the block, returned to every thread.
__device__ float block_sum(float v, float* shared) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  float total = 0;
  if (threadIdx.x < 32) {
    total = threadIdx.x < blockDim.x / 32 ? shared[threadIdx.x] : 0.0f;
    for (int offset = 16; offset > 0; offset /= 2) total += __shfl_xor_sync(0xffffffffu, total, offset);
    if (threadIdx.x == 0) shared[32] = total;
  }
  __syncthreads();
  total = shared[32];
  __syncthreads();
  return total;
}

// LayerNorm of one row held in `row` (float, in shared memory), written to out.
template <typename T>
__device__ void normalize_row(const float* row, std::int64_t hidden, const float* gamma, const float* beta, float eps,
                              T* out, float* shared) {
  float s = 0;
  for (std::int64_t c = threadIdx.x; c < hidden; c += blockDim.x) s += row[c];
  float mean = block_sum(s, shared) / static_cast<float>(hidden);
  float q = 0;
  for (std::int64_t c = threadIdx.x; c < hidden; c += blockDim.x) {
    float v = row[c] - mean;
    q += v * v;
  }
  float inv = rsqrtf(block_sum(q, shared) / static_cast<float>(hidden) + eps);
  for (std::int64_t c = threadIdx.x; c < hidden; c += blockDim.x) out[c] = from_f<T>((row[c] - mean) * inv * gamma[c] + beta[c]);
}

template <typename T>
__global__ void embed_kernel(const std::int32_t* ids, const std::int32_t* positions, const std::int32_t* type_ids,
                             const T* word, const T* position, const T* token_type, std::int64_t hidden,
                             const float* gamma, const float* beta, float eps, T* out) {
  extern __shared__ float row[];
  __shared__ float shared[33];
  std::int64_t t = blockIdx.x;
  const T* w = word + static_cast<std::int64_t>(ids[t]) * hidden;
  const T* p = position + static_cast<std::int64_t>(positions[t]) * hidden;
  const T* y = token_type + static_cast<std::int64_t>(type_ids[t]) * hidden;
  for (std::int64_t c = threadIdx.x; c < hidden; c += blockDim.x) row[c] = to_f(w[c]) + to_f(p[c]) + to_f(y[c]);
  __syncthreads();
  normalize_row(row, hidden, gamma, beta, eps, out + t * hidden, shared);
}

template <typename T>
__global__ void layer_norm_kernel(T* x, std::int64_t hidden, const float* gamma, const float* beta, float eps) {
  extern __shared__ float row[];
  __shared__ float shared[33];
  T* r = x + static_cast<std::int64_t>(blockIdx.x) * hidden;
  for (std::int64_t c = threadIdx.x; c < hidden; c += blockDim.x) row[c] = to_f(r[c]);
  __syncthreads();
  normalize_row(row, hidden, gamma, beta, eps, r, shared);
}

__device__ __forceinline__ float activate(float x, int act) {
  switch (act) {
    case 0: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case 1: return 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    case 2: return x / (1.0f + expf(-1.702f * x));
    case 3: return fmaxf(x, 0.0f);
    case 4: return x / (1.0f + expf(-x));
    case 5: return tanhf(x);
    default: return fminf(10.0f, fmaxf(-10.0f, 0.5f * x * (1.0f + erff(x * 0.70710678118654752f))));
  }
}

template <typename T>
__global__ void activation_kernel(T* y, std::int64_t n, int act) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    y[i] = from_f<T>(activate(to_f(y[i]), act));
  }
}

// One warp per (query token, head): a pass over the sequence's keys with an online softmax,
// each lane holding head_dim / 32 of the output. Keys outside the sequence are never read.
template <typename T, int kPerLane>
__global__ void attention_kernel(const T* qkv, const std::int32_t* offsets, std::int64_t sequences, std::int64_t tokens,
                                 std::int64_t heads, std::int64_t hidden, T* ctx) {
  const int lane = threadIdx.x % 32;
  const std::int64_t item = static_cast<std::int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (item >= tokens * heads) return;
  const std::int64_t t = item / heads, h = item % heads;
  const std::int64_t dh = hidden / heads;
  // The sequence holding token t (offsets are sorted).
  std::int64_t lo = 0, hi = sequences;
  while (hi - lo > 1) {
    std::int64_t mid = (lo + hi) / 2;
    if (offsets[mid] <= t) lo = mid; else hi = mid;
  }
  const std::int64_t begin = offsets[lo], end = offsets[lo + 1];
  const std::int64_t stride = 3 * hidden;
  const float scale = rsqrtf(static_cast<float>(dh));
  float q[kPerLane], acc[kPerLane];
  for (int k = 0; k < kPerLane; ++k) {
    std::int64_t c = lane + 32 * k;
    q[k] = c < dh ? to_f(qkv[t * stride + h * dh + c]) * scale : 0.0f;
    acc[k] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  for (std::int64_t j = begin; j < end; ++j) {
    const T* key = qkv + j * stride + hidden + h * dh;
    float dot = 0;
    for (int k = 0; k < kPerLane; ++k) {
      std::int64_t c = lane + 32 * k;
      if (c < dh) dot += q[k] * to_f(key[c]);
    }
    for (int offset = 16; offset > 0; offset /= 2) dot += __shfl_xor_sync(0xffffffffu, dot, offset);
    float m_new = fmaxf(m, dot);
    float correction = __expf(m - m_new);
    float p = __expf(dot - m_new);
    l = l * correction + p;
    const T* value = qkv + j * stride + 2 * hidden + h * dh;
    for (int k = 0; k < kPerLane; ++k) {
      std::int64_t c = lane + 32 * k;
      float v = c < dh ? to_f(value[c]) : 0.0f;
      acc[k] = acc[k] * correction + p * v;
    }
    m = m_new;
  }
  const float inv = 1.0f / l;
  for (int k = 0; k < kPerLane; ++k) {
    std::int64_t c = lane + 32 * k;
    if (c < dh) ctx[t * hidden + h * dh + c] = from_f<T>(acc[k] * inv);
  }
}

template <typename T>
__global__ void to_float_kernel(const T* x, float* out, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    out[i] = to_f(x[i]);
  }
}

int blocks_for(std::int64_t n) {
  std::int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<int>(b < 65535 ? (b > 0 ? b : 1) : 65535);
}

template <typename F>
cudaError_t dispatch(ElementType type, F&& f) {
  switch (type) {
    case ElementType::kFloat32: f(float{}); break;
    case ElementType::kFloat16: f(__half{}); break;
    case ElementType::kBFloat16: f(__nv_bfloat16{}); break;
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_embed(ElementType type, const std::int32_t* ids, const std::int32_t* positions,
                         const std::int32_t* type_ids, std::int64_t tokens, const void* word, const void* position,
                         const void* token_type, std::int64_t hidden, const float* gamma, const float* beta, float eps,
                         void* out, cudaStream_t stream) {
  if (tokens == 0) return cudaSuccess;
  return dispatch(type, [&](auto zero) {
    using T = decltype(zero);
    embed_kernel<T><<<static_cast<unsigned>(tokens), kThreads, hidden * sizeof(float), stream>>>(
        ids, positions, type_ids, static_cast<const T*>(word), static_cast<const T*>(position),
        static_cast<const T*>(token_type), hidden, gamma, beta, eps, static_cast<T*>(out));
  });
}

cudaError_t launch_layer_norm(ElementType type, void* x, std::int64_t rows, std::int64_t hidden, const float* gamma,
                              const float* beta, float eps, cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  return dispatch(type, [&](auto zero) {
    using T = decltype(zero);
    layer_norm_kernel<T><<<static_cast<unsigned>(rows), kThreads, hidden * sizeof(float), stream>>>(
        static_cast<T*>(x), hidden, gamma, beta, eps);
  });
}

cudaError_t launch_activation(ElementType type, void* y, std::int64_t n, DeviceActivation act, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  return dispatch(type, [&](auto zero) {
    using T = decltype(zero);
    activation_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(static_cast<T*>(y), n, static_cast<int>(act));
  });
}

cudaError_t launch_attention(ElementType type, const void* qkv, const std::int32_t* offsets, std::int64_t sequences,
                             std::int64_t tokens, std::int64_t heads, std::int64_t hidden, void* ctx,
                             cudaStream_t stream) {
  if (tokens == 0) return cudaSuccess;
  const std::int64_t dh = hidden / heads;
  const std::int64_t items = tokens * heads;
  const int warps_per_block = 4;
  const auto blocks = static_cast<unsigned>((items + warps_per_block - 1) / warps_per_block);
  return dispatch(type, [&](auto zero) {
    using T = decltype(zero);
    const T* in = static_cast<const T*>(qkv);
    T* out = static_cast<T*>(ctx);
    if (dh <= 32) {
      attention_kernel<T, 1><<<blocks, 32 * warps_per_block, 0, stream>>>(in, offsets, sequences, tokens, heads, hidden, out);
    } else if (dh <= 64) {
      attention_kernel<T, 2><<<blocks, 32 * warps_per_block, 0, stream>>>(in, offsets, sequences, tokens, heads, hidden, out);
    } else if (dh <= 128) {
      attention_kernel<T, 4><<<blocks, 32 * warps_per_block, 0, stream>>>(in, offsets, sequences, tokens, heads, hidden, out);
    } else {
      attention_kernel<T, 8><<<blocks, 32 * warps_per_block, 0, stream>>>(in, offsets, sequences, tokens, heads, hidden, out);
    }
  });
}

cudaError_t launch_to_float(ElementType type, const void* x, float* out, std::int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  return dispatch(type, [&](auto zero) {
    using T = decltype(zero);
    to_float_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(static_cast<const T*>(x), out, n);
  });
}

}  // namespace airlock::engine::cuda
