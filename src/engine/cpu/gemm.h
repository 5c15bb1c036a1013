// The linear layers of the CPU backend: y[M, out] = x[M, in]·Wᵀ + b with a fused epilogue
// (activation, or a residual add), on oneDNN (weights reordered once into its blocked layout;
// fp32 or bf16) or on OpenBLAS (sgemm, then our own epilogue pass). In int8 the product is the
// raw int32 sums (acc = x_s8 · W_s8ᵀ): the caller scales them back with its own row scales and
// column_scales(), fused with what follows (kernels.h, Int8Product).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "engine/backend.h"
#include "engine/encoder_weights.h"

namespace airlock::engine::cpu {

// kNone: the plain product, without bias (what int8 always runs).
enum class Epilogue { kNone, kBias, kBiasActivation, kBiasResidual };

struct GemmCall {
  const float* x = nullptr;           // fp32 input (fp32 path)
  const std::uint16_t* x_bf16 = nullptr;  // bf16 input (bf16 path)
  std::int64_t m = 0;
  float* y = nullptr;                 // fp32 output
  std::uint16_t* y_bf16 = nullptr;    // bf16 output instead (bf16 path, activation epilogue only)
  const float* residual = nullptr;    // [m, out] for kBiasResidual
  const std::int8_t* x_s8 = nullptr;  // int8 input (int8 path)
  std::int32_t* y_s32 = nullptr;      // int32 sums (int8 path; no epilogue)
};

class GemmContext;

class Linear {
 public:
  Linear(const Linear&) = delete;
  Linear& operator=(const Linear&) = delete;
  ~Linear();
  std::int64_t out() const { return out_; }
  std::int64_t in() const { return in_; }
  const float* bias() const;
  // int8: the weights' scale per output channel (W ≈ W_s8 · scale); empty otherwise.
  const float* column_scales() const;
  Status run(const GemmCall& call, Epilogue epilogue, Activation activation);

 private:
  friend class GemmContext;
  Linear() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::int64_t out_ = 0, in_ = 0;
};

// Owns the oneDNN engine and stream, the primitive cache and the scratchpad.
class GemmContext {
 public:
  static Result<std::unique_ptr<GemmContext>> create(CpuGemm gemm, Precision precision);
  ~GemmContext();
  Result<std::unique_ptr<Linear>> prepare(const LinearWeights& weights);
  void set_threads(int threads);
  std::string describe() const;

 private:
  GemmContext() = default;
  friend class Linear;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace airlock::engine::cpu
