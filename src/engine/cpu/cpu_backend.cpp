// The CPU encoder: BERT layer math over sequences packed without padding.
#include <omp.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "core/strings.h"
#include "engine/backend.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/kernels.h"

namespace airlock::engine {
namespace {

using cpu::Epilogue;
using cpu::GemmCall;

struct CpuLayer {
  std::unique_ptr<cpu::Linear> qkv, attention_output, intermediate, output;
  NormWeights attention_norm, output_norm;
};

class CpuEncoder final : public EncoderBackend {
 public:
  std::string describe() const override {
    return fmt::format("cpu {} threads, {}, {}", threads_, precision_name(precision_), gemm_->describe());
  }

  Status forward(const TokenBatch& batch, std::span<float> out) override {
    const std::int64_t t = static_cast<std::int64_t>(batch.tokens());
    const std::int64_t d = hidden_;
    if (out.size() < static_cast<std::size_t>(t * d)) return internal_error("forward: output buffer too small");
    if (t == 0) return ok_status();
    gemm_->set_threads(threads_);
    grow(t);
    if (precision_ == Precision::kInt8) return forward_int8(batch, out.data());
    const bool bf16 = precision_ == Precision::kBFloat16;
    float* x = out.data();  // the hidden state lives in the caller's buffer
    cpu::embed(batch.ids.data(), batch.positions.data(), batch.type_ids.data(), t, word_.data(), position_.data(),
               type_.data(), d, embedding_norm_.gamma.data(), embedding_norm_.beta.data(), eps_, x,
               bf16 ? x16_.data() : nullptr);
    for (CpuLayer& layer : layers_) {
      GemmCall qkv{x, x16_.data(), t, qkv_.data(), nullptr, nullptr};
      AIRLOCK_TRY(layer.qkv->run(qkv, Epilogue::kBias, activation_));
      cpu::attention(qkv_.data(), batch.offsets.data(), static_cast<std::int64_t>(batch.sequences()), heads_, d,
                     bf16 ? nullptr : ctx_.data(), bf16 ? ctx16_.data() : nullptr);
      GemmCall attn{ctx_.data(), ctx16_.data(), t, a_.data(), nullptr, x};
      AIRLOCK_TRY(layer.attention_output->run(attn, Epilogue::kBiasResidual, activation_));
      cpu::layer_norm(a_.data(), t, d, layer.attention_norm.gamma.data(), layer.attention_norm.beta.data(), eps_,
                      bf16 ? a16_.data() : nullptr);
      GemmCall ff1{a_.data(), a16_.data(), t, bf16 ? nullptr : h_.data(), bf16 ? h16_.data() : nullptr, nullptr};
      AIRLOCK_TRY(layer.intermediate->run(ff1, Epilogue::kBiasActivation, activation_));
      GemmCall ff2{h_.data(), h16_.data(), t, x, nullptr, a_.data()};
      AIRLOCK_TRY(layer.output->run(ff2, Epilogue::kBiasResidual, activation_));
      cpu::layer_norm(x, t, d, layer.output_norm.gamma.data(), layer.output_norm.beta.data(), eps_,
                      bf16 ? x16_.data() : nullptr);
    }
    return ok_status();
  }

  static Result<std::unique_ptr<EncoderBackend>> create(const EncoderWeights& w, const BackendOptions& options) {
    auto e = std::unique_ptr<CpuEncoder>(new CpuEncoder());
    e->hidden_ = w.hidden;
    e->heads_ = w.heads;
    e->ff_ = w.ff;
    e->eps_ = w.eps;
    e->activation_ = w.activation;
    e->precision_ = options.precision;
    e->threads_ = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (w.hidden / w.heads > 256) return Error(ErrorCode::kUnsupported, "attention heads wider than 256 are not supported");
    if (options.precision == Precision::kBFloat16 && !cpu_has_bf16()) {
      return Error(ErrorCode::kUnsupported, "bf16 needs a CPU with avx512_bf16; this one has none (use fp32)");
    }
    if (options.precision == Precision::kInt8 && !cpu_has_int8()) {
      return Error(ErrorCode::kUnsupported, "int8 needs a CPU with avx512_vnni or avx_vnni; this one has neither (use fp32)");
    }
    AIRLOCK_ASSIGN_OR_RETURN(e->gemm_, cpu::GemmContext::create(options.gemm, options.precision));
    e->word_ = w.word_embeddings;
    e->position_ = w.position_embeddings;
    e->type_ = w.token_type_embeddings;
    e->embedding_norm_ = w.embedding_norm;
    for (const LayerWeights& lw : w.layers) {
      CpuLayer layer;
      AIRLOCK_ASSIGN_OR_RETURN(layer.qkv, e->gemm_->prepare(lw.qkv));
      AIRLOCK_ASSIGN_OR_RETURN(layer.attention_output, e->gemm_->prepare(lw.attention_output));
      AIRLOCK_ASSIGN_OR_RETURN(layer.intermediate, e->gemm_->prepare(lw.intermediate));
      AIRLOCK_ASSIGN_OR_RETURN(layer.output, e->gemm_->prepare(lw.output));
      layer.attention_norm = lw.attention_norm;
      layer.output_norm = lw.output_norm;
      e->layers_.push_back(std::move(layer));
    }
    return std::unique_ptr<EncoderBackend>(std::move(e));
  }

 private:
  CpuEncoder() = default;

  // The same layer math with int8 matrix products: each product's input is quantised per token
  // by the kernel that produced it, and its int32 sums are scaled back inside the kernel that
  // consumes them (bias, GELU, residual and LayerNorm in the same pass over the row).
  Status forward_int8(const TokenBatch& batch, float* x) {
    const std::int64_t t = static_cast<std::int64_t>(batch.tokens());
    const std::int64_t d = hidden_;
    cpu::embed(batch.ids.data(), batch.positions.data(), batch.type_ids.data(), t, word_.data(), position_.data(),
               type_.data(), d, embedding_norm_.gamma.data(), embedding_norm_.beta.data(), eps_, x, nullptr);
    cpu::quantize_rows(x, t, d, xq_.data(), x_scale_.data());
    auto product = [&](const cpu::Linear& linear, const float* row_scale) {
      return cpu::Int8Product{acc_.data(), row_scale, linear.column_scales(), linear.bias()};
    };
    for (CpuLayer& layer : layers_) {
      AIRLOCK_TRY(layer.qkv->run({.m = t, .x_s8 = xq_.data(), .y_s32 = acc_.data()}, Epilogue::kNone, activation_));
      cpu::dequantize(product(*layer.qkv, x_scale_.data()), t, 3 * d, qkv_.data());
      cpu::attention(qkv_.data(), batch.offsets.data(), static_cast<std::int64_t>(batch.sequences()), heads_, d,
                     ctx_.data(), nullptr);
      cpu::quantize_rows(ctx_.data(), t, d, ctxq_.data(), ctx_scale_.data());
      AIRLOCK_TRY(layer.attention_output->run({.m = t, .x_s8 = ctxq_.data(), .y_s32 = acc_.data()}, Epilogue::kNone,
                                              activation_));
      cpu::dequantize_residual_norm_quantize(product(*layer.attention_output, ctx_scale_.data()), t, d, x,
                                             layer.attention_norm.gamma.data(), layer.attention_norm.beta.data(), eps_,
                                             a_.data(), aq_.data(), a_scale_.data());
      AIRLOCK_TRY(layer.intermediate->run({.m = t, .x_s8 = aq_.data(), .y_s32 = acc_.data()}, Epilogue::kNone,
                                          activation_));
      cpu::dequantize_activation_quantize(product(*layer.intermediate, a_scale_.data()), t, ff_, activation_,
                                          hq_.data(), h_scale_.data());
      AIRLOCK_TRY(layer.output->run({.m = t, .x_s8 = hq_.data(), .y_s32 = acc_.data()}, Epilogue::kNone, activation_));
      cpu::dequantize_residual_norm_quantize(product(*layer.output, h_scale_.data()), t, d, a_.data(),
                                             layer.output_norm.gamma.data(), layer.output_norm.beta.data(), eps_, x,
                                             xq_.data(), x_scale_.data());
    }
    return ok_status();
  }

  // Scratch grows to the largest batch seen and is reused: no allocation in the steady state.
  void grow(std::int64_t tokens) {
    if (tokens <= capacity_) return;
    capacity_ = tokens;
    auto n = static_cast<std::size_t>(tokens);
    auto d = static_cast<std::size_t>(hidden_);
    auto f = static_cast<std::size_t>(ff_);
    qkv_.resize(n * 3 * d);
    a_.resize(n * d);
    if (precision_ == Precision::kInt8) {
      ctx_.resize(n * d);
      acc_.resize(n * std::max(3 * d, f));
      xq_.resize(n * d);
      ctxq_.resize(n * d);
      aq_.resize(n * d);
      hq_.resize(n * f);
      x_scale_.resize(n);
      ctx_scale_.resize(n);
      a_scale_.resize(n);
      h_scale_.resize(n);
    } else if (precision_ == Precision::kBFloat16) {
      x16_.resize(n * d);
      ctx16_.resize(n * d);
      a16_.resize(n * d);
      h16_.resize(n * f);
    } else {
      ctx_.resize(n * d);
      h_.resize(n * f);
    }
  }

  std::int64_t hidden_ = 0, heads_ = 0, ff_ = 0;
  float eps_ = 1e-12f;
  Activation activation_ = Activation::kGeluErf;
  Precision precision_ = Precision::kFloat32;
  int threads_ = 1;
  std::unique_ptr<cpu::GemmContext> gemm_;
  std::vector<float> word_, position_, type_;
  NormWeights embedding_norm_;
  std::vector<CpuLayer> layers_;
  std::int64_t capacity_ = 0;
  std::vector<float> qkv_, ctx_, a_, h_;
  std::vector<std::uint16_t> x16_, ctx16_, a16_, h16_;
  std::vector<std::int32_t> acc_;                                // int8: a product's sums
  std::vector<std::int8_t> xq_, ctxq_, aq_, hq_;                 // int8: quantised inputs
  std::vector<float> x_scale_, ctx_scale_, a_scale_, h_scale_;  // int8: their per-token scales
};

}  // namespace

std::string_view precision_name(Precision precision) {
  switch (precision) {
    case Precision::kFloat32: return "fp32";
    case Precision::kBFloat16: return "bf16";
    case Precision::kFloat16: return "fp16";
    case Precision::kInt8: return "int8";
  }
  return "?";
}

std::optional<Precision> parse_precision(std::string_view name) {
  for (Precision p : {Precision::kFloat32, Precision::kBFloat16, Precision::kFloat16, Precision::kInt8}) {
    if (iequals(name, precision_name(p))) return p;
  }
  return std::nullopt;
}

bool cpu_has_bf16() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

bool cpu_has_int8() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512vnni")) return true;
  // AVX-VNNI is CPUID.(EAX=7, ECX=1):EAX bit 4 (clang's builtin has no name for it).
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __builtin_cpu_supports("avx2") && __get_cpuid_count(7, 1, &a, &b, &c, &d) != 0 && (a & (1u << 4)) != 0;
#else
  return false;
#endif
}

Status validate_batch(const TokenBatch& batch, const EncoderWeights& w) {
  if (batch.offsets.empty() || batch.offsets.front() != 0 ||
      static_cast<std::size_t>(batch.offsets.back()) != batch.ids.size() || batch.type_ids.size() != batch.ids.size() ||
      batch.positions.size() != batch.ids.size()) {
    return internal_error("token batch: inconsistent sizes");
  }
  for (std::size_t i = 0; i + 1 < batch.offsets.size(); ++i) {
    if (batch.offsets[i + 1] < batch.offsets[i]) return internal_error("token batch: offsets go backwards");
  }
  for (std::size_t i = 0; i < batch.ids.size(); ++i) {
    if (batch.ids[i] < 0 || batch.ids[i] >= w.vocab) {
      return invalid_argument(fmt::format("token id {} is outside the model's vocabulary of {}", batch.ids[i], w.vocab));
    }
    if (batch.type_ids[i] < 0 || batch.type_ids[i] >= w.types) {
      return invalid_argument(fmt::format("token type id {} is outside the model's {} types", batch.type_ids[i], w.types));
    }
    if (batch.positions[i] < 0 || batch.positions[i] >= w.positions) {
      return invalid_argument(fmt::format("position {} is past the model's {} position embeddings (input too long)",
                                          batch.positions[i], w.positions));
    }
  }
  return ok_status();
}

Result<std::unique_ptr<EncoderBackend>> make_cpu_backend(const EncoderWeights& weights, const BackendOptions& options) {
  return CpuEncoder::create(weights, options);
}

}  // namespace airlock::engine
