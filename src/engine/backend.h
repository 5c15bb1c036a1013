// The compute backends behind one interface: a batch of token sequences in, the encoder's last
// hidden states out. The CPU backend (oneDNN or OpenBLAS GEMMs + own kernels) is always built;
// the CUDA backend (cuBLAS + own kernels) only with -DAIRLOCK_CUDA=ON.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "engine/encoder_weights.h"

namespace airlock::engine {

// Sequences concatenated without padding; offsets[i]..offsets[i+1] are sequence i's tokens.
struct TokenBatch {
  std::vector<std::int32_t> ids, type_ids, positions;
  std::vector<std::int32_t> offsets{0};

  std::size_t sequences() const { return offsets.size() - 1; }
  std::size_t tokens() const { return ids.size(); }
  std::int32_t length(std::size_t i) const { return offsets[i + 1] - offsets[i]; }
  std::int32_t max_length() const {
    std::int32_t m = 0;
    for (std::size_t i = 0; i + 1 < offsets.size(); ++i) m = std::max(m, length(i));
    return m;
  }
};

// kInt8: weights quantised per output channel and activations per token (symmetric int8, fp32
// accumulation scaled back), on CPUs with VNNI; everything outside the matrix products stays fp32.
enum class Precision { kFloat32, kBFloat16, kFloat16, kInt8 };
std::string_view precision_name(Precision precision);
// "fp32", "bf16", "fp16" or "int8" (any case); nullopt for anything else.
std::optional<Precision> parse_precision(std::string_view name);
inline constexpr std::string_view kPrecisionNames = "fp32, bf16, fp16 or int8";

enum class DeviceKind { kCpu, kCuda };

// Which library runs the CPU matrix products (bench/README.md records the measurements).
enum class CpuGemm { kOneDnn, kOpenBlas };

struct BackendOptions {
  DeviceKind device = DeviceKind::kCpu;
  Precision precision = Precision::kFloat32;
  int threads = 0;  // 0: all cores
  CpuGemm gemm = CpuGemm::kOneDnn;
  int cuda_device = 0;
};

class EncoderBackend {
 public:
  virtual ~EncoderBackend() = default;
  virtual std::string describe() const = 0;
  // Writes the last hidden state, [batch.tokens(), hidden], to `out`. Not reentrant: the
  // caller serialises calls (the backend owns its scratch memory).
  virtual Status forward(const TokenBatch& batch, std::span<float> out) = 0;
};

// Checks ids, type ids and positions against the embedding tables before any kernel runs.
Status validate_batch(const TokenBatch& batch, const EncoderWeights& weights);

Result<std::unique_ptr<EncoderBackend>> make_cpu_backend(const EncoderWeights& weights, const BackendOptions& options);
Result<std::unique_ptr<EncoderBackend>> make_cuda_backend(const EncoderWeights& weights, const BackendOptions& options);
// True when this build has the CUDA backend and a device is present.
bool cuda_backend_available();
// True when this build has the CUDA backend (configured with -DAIRLOCK_CUDA=ON), GPU or not.
bool cuda_backend_built();
// True when the CPU can run the bf16 path (avx512_bf16).
bool cpu_has_bf16();
// True when the CPU can run the int8 path (avx512_vnni or avx_vnni: 32-bit sums of u8 x s8
// products without the 16-bit saturation of older int8 instructions).
bool cpu_has_int8();

}  // namespace airlock::engine
