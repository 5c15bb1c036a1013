#include "engine/cuda/cuda_backend.h"

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <fmt/format.h>

#include <cstring>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "engine/cuda/kernels.h"
#include "engine/numeric.h"

namespace airlock::engine::cuda {
namespace {

Error cuda_error(std::string_view what, cudaError_t e) {
  return internal_error(fmt::format("CUDA: {}: {}", what, cudaGetErrorString(e)));
}

Error cublas_error(std::string_view what, cublasStatus_t s) {
  return internal_error(fmt::format("cuBLASLt: {}: status {}", what, static_cast<int>(s)));
}

#define AIRLOCK_CUDA_TRY(what, expr)                    \
  do {                                                  \
    cudaError_t airlock_cuda_error_ = (expr);           \
    if (airlock_cuda_error_ != cudaSuccess) return cuda_error(what, airlock_cuda_error_); \
  } while (false)

#define AIRLOCK_CUBLAS_TRY(what, expr)                  \
  do {                                                  \
    cublasStatus_t airlock_cublas_status_ = (expr);     \
    if (airlock_cublas_status_ != CUBLAS_STATUS_SUCCESS) return cublas_error(what, airlock_cublas_status_); \
  } while (false)

// Device memory that frees itself.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) {
    o.ptr_ = nullptr;
    o.bytes_ = 0;
  }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(bytes_, o.bytes_);
    return *this;
  }
  ~DeviceBuffer() {
    if (ptr_ != nullptr) cudaFree(ptr_);
  }
  Status reserve(std::size_t bytes) {
    if (bytes <= bytes_) return ok_status();
    if (ptr_ != nullptr) cudaFree(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
    AIRLOCK_CUDA_TRY(fmt::format("allocating {} bytes", bytes), cudaMalloc(&ptr_, bytes));
    bytes_ = bytes;
    return ok_status();
  }
  void* get() const { return ptr_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
};

std::size_t element_size(ElementType t) { return t == ElementType::kFloat32 ? 4 : 2; }

// fp32 -> IEEE half, round to nearest even (weights only, at load: no need for speed).
std::uint16_t float_to_half(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, 4);
  std::uint32_t sign = (bits >> 16) & 0x8000u;
  std::int32_t exponent = static_cast<std::int32_t>((bits >> 23) & 0xFF) - 127 + 15;
  std::uint32_t mantissa = bits & 0x7FFFFFu;
  if (((bits >> 23) & 0xFF) == 0xFF) return static_cast<std::uint16_t>(sign | 0x7C00u | (mantissa != 0 ? 0x200u : 0));
  if (exponent >= 31) return static_cast<std::uint16_t>(sign | 0x7C00u);
  if (exponent <= 0) {
    if (exponent < -10) return static_cast<std::uint16_t>(sign);
    mantissa |= 0x800000u;
    int shift = 14 - exponent;
    std::uint32_t v = mantissa >> shift;
    std::uint32_t rest = mantissa & ((1u << shift) - 1);
    std::uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (v & 1u))) ++v;
    return static_cast<std::uint16_t>(sign | v);
  }
  std::uint32_t v = (static_cast<std::uint32_t>(exponent) << 10) | (mantissa >> 13);
  std::uint32_t rest = mantissa & 0x1FFFu;
  if (rest > 0x1000u || (rest == 0x1000u && (v & 1u))) ++v;  // may carry into the exponent: correct
  return static_cast<std::uint16_t>(sign | v);
}

// Host fp32 values in the device element type, uploaded.
Result<DeviceBuffer> upload(const std::vector<float>& values, ElementType type) {
  DeviceBuffer buffer;
  AIRLOCK_TRY(buffer.reserve(std::max<std::size_t>(1, values.size() * element_size(type))));
  const void* source = values.data();
  std::unique_ptr<std::uint16_t[]> half;
  if (type != ElementType::kFloat32) {
    half.reset(new std::uint16_t[values.size()]);
    for (std::size_t i = 0; i < values.size(); ++i) {
      half[i] = type == ElementType::kBFloat16 ? float_to_bf16(values[i]) : float_to_half(values[i]);
    }
    source = half.get();
  }
  AIRLOCK_CUDA_TRY("uploading weights", cudaMemcpy(buffer.get(), source, values.size() * element_size(type),
                                                   cudaMemcpyHostToDevice));
  return buffer;
}

Result<DeviceBuffer> upload_f32(const std::vector<float>& values) { return upload(values, ElementType::kFloat32); }

struct DeviceLinear {
  std::int64_t out = 0, in = 0;
  DeviceBuffer weight, bias;
};

struct DeviceNorm {
  DeviceBuffer gamma, beta;
};

struct DeviceLayer {
  DeviceLinear qkv, attention_output, intermediate, output;
  DeviceNorm attention_norm, output_norm;
};

class CudaEncoder final : public EncoderBackend {
 public:
  ~CudaEncoder() override {
    if (lt_ != nullptr) cublasLtDestroy(lt_);
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }

  std::string describe() const override {
    return fmt::format("cuda device {} ({}), {}, cuBLASLt", device_, device_name_,
                       type_ == ElementType::kFloat32 ? "fp32" : type_ == ElementType::kFloat16 ? "fp16" : "bf16");
  }

  Status forward(const TokenBatch& batch, std::span<float> out) override {
    const auto t = static_cast<std::int64_t>(batch.tokens());
    const std::int64_t d = hidden_;
    if (out.size() < static_cast<std::size_t>(t * d)) return internal_error("forward: output buffer too small");
    if (t == 0) return ok_status();
    AIRLOCK_CUDA_TRY("selecting the device", cudaSetDevice(device_));
    const std::size_t e = element_size(type_);
    AIRLOCK_TRY(ids_.reserve(static_cast<std::size_t>(t) * 4));
    AIRLOCK_TRY(types_.reserve(static_cast<std::size_t>(t) * 4));
    AIRLOCK_TRY(positions_.reserve(static_cast<std::size_t>(t) * 4));
    AIRLOCK_TRY(offsets_.reserve(batch.offsets.size() * 4));
    AIRLOCK_TRY(x_.reserve(static_cast<std::size_t>(t * d) * e));
    AIRLOCK_TRY(a_.reserve(static_cast<std::size_t>(t * d) * e));
    AIRLOCK_TRY(ctx_.reserve(static_cast<std::size_t>(t * d) * e));
    AIRLOCK_TRY(qkv_.reserve(static_cast<std::size_t>(t * 3 * d) * e));
    AIRLOCK_TRY(h_.reserve(static_cast<std::size_t>(t * ff_) * e));
    AIRLOCK_TRY(result_.reserve(static_cast<std::size_t>(t * d) * 4));
    auto copy_in = [&](DeviceBuffer& to, const std::vector<std::int32_t>& from) {
      return cudaMemcpyAsync(to.get(), from.data(), from.size() * 4, cudaMemcpyHostToDevice, stream_);
    };
    AIRLOCK_CUDA_TRY("uploading ids", copy_in(ids_, batch.ids));
    AIRLOCK_CUDA_TRY("uploading type ids", copy_in(types_, batch.type_ids));
    AIRLOCK_CUDA_TRY("uploading positions", copy_in(positions_, batch.positions));
    AIRLOCK_CUDA_TRY("uploading offsets", copy_in(offsets_, batch.offsets));
    AIRLOCK_CUDA_TRY("embeddings", launch_embed(type_, ids_.as<std::int32_t>(), positions_.as<std::int32_t>(),
                                                types_.as<std::int32_t>(), t, word_.get(), position_.get(), type_emb_.get(),
                                                d, embedding_norm_.gamma.as<float>(), embedding_norm_.beta.as<float>(), eps_,
                                                x_.get(), stream_));
    for (DeviceLayer& layer : layers_) {
      AIRLOCK_TRY(gemm(layer.qkv, x_.get(), t, qkv_.get(), nullptr));
      AIRLOCK_CUDA_TRY("attention", launch_attention(type_, qkv_.get(), offsets_.as<std::int32_t>(),
                                                     static_cast<std::int64_t>(batch.sequences()), t, heads_, d, ctx_.get(),
                                                     stream_));
      AIRLOCK_TRY(gemm(layer.attention_output, ctx_.get(), t, a_.get(), x_.get()));
      AIRLOCK_CUDA_TRY("layer norm", launch_layer_norm(type_, a_.get(), t, d, layer.attention_norm.gamma.as<float>(),
                                                       layer.attention_norm.beta.as<float>(), eps_, stream_));
      AIRLOCK_TRY(gemm(layer.intermediate, a_.get(), t, h_.get(), nullptr));
      AIRLOCK_CUDA_TRY("activation", launch_activation(type_, h_.get(), t * ff_, activation_, stream_));
      AIRLOCK_TRY(gemm(layer.output, h_.get(), t, x_.get(), a_.get()));
      AIRLOCK_CUDA_TRY("layer norm", launch_layer_norm(type_, x_.get(), t, d, layer.output_norm.gamma.as<float>(),
                                                       layer.output_norm.beta.as<float>(), eps_, stream_));
    }
    AIRLOCK_CUDA_TRY("converting the output", launch_to_float(type_, x_.get(), result_.as<float>(), t * d, stream_));
    AIRLOCK_CUDA_TRY("downloading the output", cudaMemcpyAsync(out.data(), result_.get(), static_cast<std::size_t>(t * d) * 4,
                                                               cudaMemcpyDeviceToHost, stream_));
    AIRLOCK_CUDA_TRY("running the encoder", cudaStreamSynchronize(stream_));
    return ok_status();
  }

  static Result<std::unique_ptr<EncoderBackend>> create(const EncoderWeights& w, const BackendOptions& options) {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
      return Error(ErrorCode::kUnavailable, "no CUDA device is available (check the driver and CUDA_VISIBLE_DEVICES)");
    }
    if (options.cuda_device < 0 || options.cuda_device >= count) {
      return invalid_argument(fmt::format("CUDA device {} does not exist ({} found)", options.cuda_device, count));
    }
    if (w.heads <= 0 || w.hidden % w.heads != 0 || w.hidden / w.heads > 256) {
      return Error(ErrorCode::kUnsupported, fmt::format("the CUDA backend supports attention heads up to 256 wide (this "
                                                        "model: hidden {} over {} heads)", w.hidden, w.heads));
    }
    if (options.precision == Precision::kInt8) {
      return Error(ErrorCode::kUnsupported, "int8 runs on CPU only; on CUDA use fp16, bf16 or fp32");
    }
    auto e = std::unique_ptr<CudaEncoder>(new CudaEncoder());
    e->device_ = options.cuda_device;
    AIRLOCK_CUDA_TRY("selecting the device", cudaSetDevice(e->device_));
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, e->device_) == cudaSuccess) e->device_name_ = prop.name;
    e->type_ = options.precision == Precision::kFloat16    ? ElementType::kFloat16
               : options.precision == Precision::kBFloat16 ? ElementType::kBFloat16
                                                           : ElementType::kFloat32;
    e->hidden_ = w.hidden;
    e->heads_ = w.heads;
    e->ff_ = w.ff;
    e->eps_ = w.eps;
    e->activation_ = static_cast<DeviceActivation>(static_cast<int>(w.activation));
    AIRLOCK_CUDA_TRY("creating a stream", cudaStreamCreateWithFlags(&e->stream_, cudaStreamNonBlocking));
    AIRLOCK_CUBLAS_TRY("creating a handle", cublasLtCreate(&e->lt_));
    AIRLOCK_TRY(e->workspace_.reserve(kWorkspaceBytes));
    AIRLOCK_ASSIGN_OR_RETURN(e->word_, upload(w.word_embeddings, e->type_));
    AIRLOCK_ASSIGN_OR_RETURN(e->position_, upload(w.position_embeddings, e->type_));
    AIRLOCK_ASSIGN_OR_RETURN(e->type_emb_, upload(w.token_type_embeddings, e->type_));
    AIRLOCK_ASSIGN_OR_RETURN(e->embedding_norm_.gamma, upload_f32(w.embedding_norm.gamma));
    AIRLOCK_ASSIGN_OR_RETURN(e->embedding_norm_.beta, upload_f32(w.embedding_norm.beta));
    auto linear = [&](const LinearWeights& lw) -> Result<DeviceLinear> {
      DeviceLinear l;
      l.out = lw.out;
      l.in = lw.in;
      AIRLOCK_ASSIGN_OR_RETURN(l.weight, upload(lw.weight, e->type_));
      AIRLOCK_ASSIGN_OR_RETURN(l.bias, upload(lw.bias, e->type_));
      return l;
    };
    auto norm = [&](const NormWeights& nw) -> Result<DeviceNorm> {
      DeviceNorm n;
      AIRLOCK_ASSIGN_OR_RETURN(n.gamma, upload_f32(nw.gamma));
      AIRLOCK_ASSIGN_OR_RETURN(n.beta, upload_f32(nw.beta));
      return n;
    };
    for (const LayerWeights& lw : w.layers) {
      DeviceLayer layer;
      AIRLOCK_ASSIGN_OR_RETURN(layer.qkv, linear(lw.qkv));
      AIRLOCK_ASSIGN_OR_RETURN(layer.attention_output, linear(lw.attention_output));
      AIRLOCK_ASSIGN_OR_RETURN(layer.intermediate, linear(lw.intermediate));
      AIRLOCK_ASSIGN_OR_RETURN(layer.output, linear(lw.output));
      AIRLOCK_ASSIGN_OR_RETURN(layer.attention_norm, norm(lw.attention_norm));
      AIRLOCK_ASSIGN_OR_RETURN(layer.output_norm, norm(lw.output_norm));
      e->layers_.push_back(std::move(layer));
    }
    return std::unique_ptr<EncoderBackend>(std::move(e));
  }

 private:
  static constexpr std::size_t kWorkspaceBytes = 32u << 20;

  CudaEncoder() = default;

  cudaDataType_t data_type() const {
    return type_ == ElementType::kFloat16 ? CUDA_R_16F : type_ == ElementType::kBFloat16 ? CUDA_R_16BF : CUDA_R_32F;
  }

  // The descriptors and the algorithm cuBLASLt's heuristic picks for one problem shape, made
  // once: choosing per call would cost more than a small product itself.
  struct GemmPlan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulAlgo_t algo{};
    bool has_algo = false;
    GemmPlan() = default;
    GemmPlan(const GemmPlan&) = delete;
    GemmPlan& operator=(const GemmPlan&) = delete;
    ~GemmPlan() {
      if (op != nullptr) cublasLtMatmulDescDestroy(op);
      if (a != nullptr) cublasLtMatrixLayoutDestroy(a);
      if (b != nullptr) cublasLtMatrixLayoutDestroy(b);
      if (c != nullptr) cublasLtMatrixLayoutDestroy(c);
    }
  };

  Result<GemmPlan*> plan_for(std::int64_t n, std::int64_t k, std::int64_t m, bool residual) {
    auto key = std::make_tuple(n, k, m, residual);
    auto it = plans_.find(key);
    if (it != plans_.end()) return it->second.get();
    // One plan per layer shape and batch size seen; a server sees many batch sizes, so bound it.
    if (plans_.size() > 1024) plans_.clear();
    auto plan = std::make_unique<GemmPlan>();
    cudaDataType_t dt = data_type();
    AIRLOCK_CUBLAS_TRY("matmul descriptor", cublasLtMatmulDescCreate(&plan->op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    cublasOperation_t transpose = CUBLAS_OP_T, keep = CUBLAS_OP_N;
    AIRLOCK_CUBLAS_TRY("transa", cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSA, &transpose, sizeof(transpose)));
    AIRLOCK_CUBLAS_TRY("transb", cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSB, &keep, sizeof(keep)));
    cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
    AIRLOCK_CUBLAS_TRY("epilogue", cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                                                  sizeof(epilogue)));
    auto un = static_cast<std::uint64_t>(n), uk = static_cast<std::uint64_t>(k), rows = static_cast<std::uint64_t>(m);
    AIRLOCK_CUBLAS_TRY("layout A", cublasLtMatrixLayoutCreate(&plan->a, dt, uk, un, k));
    AIRLOCK_CUBLAS_TRY("layout B", cublasLtMatrixLayoutCreate(&plan->b, dt, uk, rows, k));
    AIRLOCK_CUBLAS_TRY("layout C", cublasLtMatrixLayoutCreate(&plan->c, dt, un, rows, n));
    cublasLtMatmulPreference_t preference = nullptr;
    AIRLOCK_CUBLAS_TRY("preference", cublasLtMatmulPreferenceCreate(&preference));
    std::size_t workspace = kWorkspaceBytes;
    cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof(workspace));
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    // Every buffer is its own cudaMalloc (256-byte aligned), which is what the heuristic assumes.
    cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(lt_, plan->op, plan->a, plan->b, plan->c, plan->c, preference, 1,
                                                           &result, &found);
    cublasLtMatmulPreferenceDestroy(preference);
    if (status == CUBLAS_STATUS_SUCCESS && found > 0) {
      plan->algo = result.algo;
      plan->has_algo = true;
    }
    GemmPlan* raw = plan.get();
    plans_.emplace(key, std::move(plan));
    return raw;
  }

  // y[m, out] = x[m, in]·Wᵀ + bias (+ residual), as column-major yᵀ = W·xᵀ for cuBLASLt.
  Status gemm(const DeviceLinear& l, const void* x, std::int64_t m, void* y, const void* residual) {
    AIRLOCK_ASSIGN_OR_RETURN(GemmPlan * plan, plan_for(l.out, l.in, m, residual != nullptr));
    const void* bias = l.bias.get();
    AIRLOCK_CUBLAS_TRY("bias", cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
    float alpha = 1.0f, beta = residual != nullptr ? 1.0f : 0.0f;
    AIRLOCK_CUBLAS_TRY("matmul", cublasLtMatmul(lt_, plan->op, &alpha, l.weight.get(), plan->a, x, plan->b, &beta,
                                                residual != nullptr ? residual : y, plan->c, y, plan->c,
                                                plan->has_algo ? &plan->algo : nullptr, workspace_.get(), kWorkspaceBytes,
                                                stream_));
    return ok_status();
  }

  int device_ = 0;
  std::string device_name_;
  ElementType type_ = ElementType::kFloat32;
  std::int64_t hidden_ = 0, heads_ = 0, ff_ = 0;
  float eps_ = 1e-12f;
  DeviceActivation activation_ = DeviceActivation::kGeluErf;
  cudaStream_t stream_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  DeviceBuffer workspace_;
  DeviceBuffer word_, position_, type_emb_;
  DeviceNorm embedding_norm_;
  std::vector<DeviceLayer> layers_;
  DeviceBuffer ids_, types_, positions_, offsets_, x_, a_, ctx_, qkv_, h_, result_;
  std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t, bool>, std::unique_ptr<GemmPlan>> plans_;
};

}  // namespace

Result<std::unique_ptr<EncoderBackend>> make_backend(const EncoderWeights& weights, const BackendOptions& options) {
  return CudaEncoder::create(weights, options);
}

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) return 0;
  return count;
}

}  // namespace airlock::engine::cuda
