// The CUDA encoder: cuBLASLt matrix products (bias and residual fused into the epilogue) and our
// own kernels (embeddings + LayerNorm, LayerNorm, activations, attention over unpadded
// sequences), in fp32, fp16 or bf16 (fp32 accumulation). Built only with -DAIRLOCK_CUDA=ON.
#pragma once

#include <memory>

#include "core/result.h"
#include "engine/backend.h"

namespace airlock::engine::cuda {

Result<std::unique_ptr<EncoderBackend>> make_backend(const EncoderWeights& weights, const BackendOptions& options);
int device_count();

}  // namespace airlock::engine::cuda
