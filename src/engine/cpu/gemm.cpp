#include "engine/cpu/gemm.h"

#include <cblas.h>
#include <omp.h>

#include <fmt/format.h>

#include <dnnl.hpp>
#include <map>
#include <mutex>
#include <tuple>
#include <unordered_map>

#include "engine/cpu/kernels.h"
#include "engine/numeric.h"

namespace airlock::engine::cpu {

using dnnl::memory;

struct GemmContext::Impl {
  CpuGemm gemm = CpuGemm::kOneDnn;
  Precision precision = Precision::kFloat32;
  dnnl::engine engine;
  dnnl::stream stream;
  int threads = 0;
  // Primitives per problem: (m, n, k, epilogue, activation, bf16 output); every layer of that
  // shape shares one, pointed at its own weights for each call.
  // The memory objects and the argument map are made once per primitive and re-pointed at each
  // call's buffers: nothing is allocated in the steady state.
  struct Primitive {
    dnnl::matmul::primitive_desc pd;
    dnnl::matmul matmul;
    memory src, weights, bias, dst, residual;
    std::unordered_map<int, memory> args;
  };
  std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t, int, int, bool>, Primitive> primitives;
  std::vector<std::uint8_t> scratchpad;
  std::string implementation;
};

struct Linear::Impl {
  GemmContext::Impl* context = nullptr;
  std::vector<float> weight;  // OpenBLAS: [out, in] as in the checkpoint
  std::vector<float> bias;
  std::vector<float> column_scales;  // int8
  memory packed;              // oneDNN: blocked weights (f32, bf16 or s8)
  memory::desc packed_desc;
  memory bias_memory;
};

namespace {

memory::data_type source_type(Precision p) {
  switch (p) {
    case Precision::kBFloat16: return memory::data_type::bf16;
    case Precision::kInt8: return memory::data_type::s8;
    default: return memory::data_type::f32;
  }
}

// Symmetric per-output-channel quantisation of an [out, in] matrix: row n becomes
// round(w / scale[n]) with scale[n] = max|w[n]| / 127.
std::vector<std::int8_t> quantize_weights(const LinearWeights& weights, std::vector<float>& scales) {
  std::vector<std::int8_t> q(weights.weight.size());
  scales.assign(static_cast<std::size_t>(weights.out), 0.0f);
  quantize_rows(weights.weight.data(), weights.out, weights.in, q.data(), scales.data());
  return q;
}

void add_activation(dnnl::post_ops& ops, Activation act) {
  using dnnl::algorithm;
  switch (act) {
    case Activation::kGeluErf: ops.append_eltwise(1.f, algorithm::eltwise_gelu_erf, 0.f, 0.f); break;
    case Activation::kGeluTanh: ops.append_eltwise(1.f, algorithm::eltwise_gelu_tanh, 0.f, 0.f); break;
    case Activation::kQuickGelu: ops.append_eltwise(1.f, algorithm::eltwise_swish, 1.702f, 0.f); break;
    case Activation::kRelu: ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f); break;
    case Activation::kSilu: ops.append_eltwise(1.f, algorithm::eltwise_swish, 1.f, 0.f); break;
    case Activation::kTanh: ops.append_eltwise(1.f, algorithm::eltwise_tanh, 0.f, 0.f); break;
    case Activation::kGelu10:
      ops.append_eltwise(1.f, algorithm::eltwise_gelu_erf, 0.f, 0.f);
      ops.append_eltwise(1.f, algorithm::eltwise_clip, -10.f, 10.f);
      break;
  }
}

}  // namespace

Linear::~Linear() = default;

const float* Linear::bias() const { return impl_->bias.data(); }
const float* Linear::column_scales() const { return impl_->column_scales.data(); }

Status Linear::run(const GemmCall& call, Epilogue epilogue, Activation activation) {
  Impl& w = *impl_;
  GemmContext::Impl& ctx = *w.context;
  const std::int64_t m = call.m, n = out_, k = in_;
  if (m == 0) return ok_status();
  if (ctx.gemm == CpuGemm::kOpenBlas) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
                1.0f, call.x, static_cast<int>(k), w.weight.data(), static_cast<int>(k), 0.0f, call.y, static_cast<int>(n));
    switch (epilogue) {
      case Epilogue::kNone:
        break;
      case Epilogue::kBias:
        bias_residual(call.y, m, n, w.bias.data(), nullptr);
        break;
      case Epilogue::kBiasActivation:
        bias_activation(call.y, m, n, w.bias.data(), activation);
        break;
      case Epilogue::kBiasResidual:
        bias_residual(call.y, m, n, w.bias.data(), call.residual);
        break;
    }
    return ok_status();
  }
  const bool bf16_out = call.y_bf16 != nullptr;
  const bool int8 = ctx.precision == Precision::kInt8;
  if (int8) epilogue = Epilogue::kNone;  // the caller's int8 kernels add the bias
  auto key = std::make_tuple(m, n, k, static_cast<int>(epilogue), static_cast<int>(activation), bf16_out);
  auto it = ctx.primitives.find(key);
  try {
    if (it == ctx.primitives.end()) {
      memory::desc src({m, k}, source_type(ctx.precision), memory::format_tag::ab);
      memory::desc dst({m, n}, int8 ? memory::data_type::s32 : bf16_out ? memory::data_type::bf16 : memory::data_type::f32,
                       memory::format_tag::ab);
      memory::desc bias_desc({1, n}, memory::data_type::f32, memory::format_tag::ab);
      dnnl::post_ops ops;
      if (epilogue == Epilogue::kBiasActivation) add_activation(ops, activation);
      if (epilogue == Epilogue::kBiasResidual) {
        ops.append_binary(dnnl::algorithm::binary_add, memory::desc({m, n}, memory::data_type::f32, memory::format_tag::ab));
      }
      dnnl::primitive_attr attr;
      attr.set_post_ops(ops);
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      const bool with_bias = epilogue != Epilogue::kNone;
      dnnl::matmul::primitive_desc pd(!with_bias ? dnnl::matmul::desc(src, w.packed_desc, dst)
                                           : dnnl::matmul::desc(src, w.packed_desc, bias_desc, dst),
                                      attr, ctx.engine);
      if (ctx.implementation.empty()) ctx.implementation = pd.impl_info_str();
      // Bound the cache: one entry per layer shape and distinct batch size. Clearing it drops every
      // entry's reference to the scratchpad too, so the scratchpad can grow after it.
      if (ctx.primitives.size() > 1024) ctx.primitives.clear();
      if (pd.scratchpad_desc().get_size() > ctx.scratchpad.size()) {
        // Earlier primitives hold memory objects over the old scratchpad: re-point them.
        ctx.scratchpad.resize(pd.scratchpad_desc().get_size());
        for (auto& [other_key, other] : ctx.primitives) {
          other.args.at(DNNL_ARG_SCRATCHPAD).set_data_handle(ctx.scratchpad.data());
        }
      }
      GemmContext::Impl::Primitive p{pd,
                                     dnnl::matmul(pd),
                                     memory(pd.src_desc(), ctx.engine, nullptr),
                                     memory(w.packed_desc, ctx.engine, nullptr),
                                     memory(bias_desc, ctx.engine, nullptr),
                                     memory(pd.dst_desc(), ctx.engine, nullptr),
                                     memory(),
                                     {}};
      p.args = {{DNNL_ARG_SRC, p.src},
                {DNNL_ARG_WEIGHTS, p.weights},
                {DNNL_ARG_DST, p.dst},
                {DNNL_ARG_SCRATCHPAD, memory(pd.scratchpad_desc(), ctx.engine, ctx.scratchpad.data())}};
      if (with_bias) p.args.emplace(DNNL_ARG_BIAS, p.bias);
      if (epilogue == Epilogue::kBiasResidual) {
        p.residual = memory(memory::desc({m, n}, memory::data_type::f32, memory::format_tag::ab), ctx.engine, nullptr);
        p.args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, p.residual);
      }
      it = ctx.primitives.emplace(key, std::move(p)).first;
    }
    GemmContext::Impl::Primitive& p = it->second;
    switch (ctx.precision) {
      case Precision::kBFloat16: p.src.set_data_handle(const_cast<std::uint16_t*>(call.x_bf16)); break;
      case Precision::kInt8: p.src.set_data_handle(const_cast<std::int8_t*>(call.x_s8)); break;
      default: p.src.set_data_handle(const_cast<float*>(call.x)); break;
    }
    p.weights.set_data_handle(w.packed.get_data_handle());
    p.bias.set_data_handle(w.bias.data());
    if (int8) {
      p.dst.set_data_handle(call.y_s32);
    } else {
      p.dst.set_data_handle(bf16_out ? static_cast<void*>(call.y_bf16) : static_cast<void*>(call.y));
    }
    if (epilogue == Epilogue::kBiasResidual) p.residual.set_data_handle(const_cast<float*>(call.residual));
    p.matmul.execute(ctx.stream, p.args);
    ctx.stream.wait();
  } catch (const dnnl::error& e) {
    return internal_error(fmt::format("oneDNN matmul {}x{}x{} failed: {}", m, n, k, e.what()));
  }
  return ok_status();
}

GemmContext::~GemmContext() = default;

Result<std::unique_ptr<GemmContext>> GemmContext::create(CpuGemm gemm, Precision precision) {
  auto ctx = std::unique_ptr<GemmContext>(new GemmContext());
  ctx->impl_ = std::make_unique<Impl>();
  ctx->impl_->gemm = gemm;
  ctx->impl_->precision = precision;
  if (precision == Precision::kFloat16) {
    return Error(ErrorCode::kUnsupported, "fp16 runs on CUDA only; on CPU use fp32 or bf16");
  }
  if (precision == Precision::kBFloat16 && gemm != CpuGemm::kOneDnn) {
    return Error(ErrorCode::kUnsupported, "bf16 on CPU needs the oneDNN GEMM");
  }
  if (precision == Precision::kInt8 && gemm != CpuGemm::kOneDnn) {
    return Error(ErrorCode::kUnsupported, "int8 on CPU needs the oneDNN GEMM");
  }
  if (gemm == CpuGemm::kOneDnn) {
    try {
      ctx->impl_->engine = dnnl::engine(dnnl::engine::kind::cpu, 0);
      ctx->impl_->stream = dnnl::stream(ctx->impl_->engine);
    } catch (const dnnl::error& e) {
      return internal_error(fmt::format("oneDNN: cannot create a CPU engine: {}", e.what()));
    }
  }
  return ctx;
}

void GemmContext::set_threads(int threads) {
  impl_->threads = threads;
  omp_set_num_threads(threads);
  if (impl_->gemm == CpuGemm::kOpenBlas) openblas_set_num_threads(threads);
}

std::string GemmContext::describe() const {
  if (impl_->gemm == CpuGemm::kOpenBlas) return "OpenBLAS sgemm";
  return fmt::format("oneDNN matmul ({})", impl_->implementation.empty() ? "not run yet" : impl_->implementation);
}

Result<std::unique_ptr<Linear>> GemmContext::prepare(const LinearWeights& weights) {
  auto linear = std::unique_ptr<Linear>(new Linear());
  linear->impl_ = std::make_unique<Linear::Impl>();
  linear->out_ = weights.out;
  linear->in_ = weights.in;
  Linear::Impl& w = *linear->impl_;
  w.context = impl_.get();
  w.bias = weights.bias;
  if (impl_->gemm == CpuGemm::kOpenBlas) {
    w.weight = weights.weight;
    return linear;
  }
  try {
    const std::int64_t n = weights.out, k = weights.in;
    // Let oneDNN choose the weights layout for a large batch and keep it for every batch size.
    const std::int64_t reference_m = 1024;
    memory::data_type wt = source_type(impl_->precision);
    memory::desc src({reference_m, k}, wt, memory::format_tag::ab);
    memory::desc any({k, n}, wt, memory::format_tag::any);
    memory::desc bias_desc({1, n}, memory::data_type::f32, memory::format_tag::ab);
    const bool int8 = impl_->precision == Precision::kInt8;
    memory::desc dst({reference_m, n}, int8 ? memory::data_type::s32 : memory::data_type::f32, memory::format_tag::ab);
    dnnl::matmul::primitive_desc pd(int8 ? dnnl::matmul::desc(src, any, dst) : dnnl::matmul::desc(src, any, bias_desc, dst),
                                    impl_->engine);
    w.packed_desc = pd.weights_desc();
    w.packed = memory(w.packed_desc, impl_->engine);
    // The checkpoint's [out, in] row-major matrix is the [in, out] matrix in "ba" order.
    std::vector<std::uint16_t> bf16;
    std::vector<std::int8_t> s8;
    memory plain;
    if (int8) {
      s8 = quantize_weights(weights, w.column_scales);
      plain = memory(memory::desc({k, n}, memory::data_type::s8, memory::format_tag::ba), impl_->engine, s8.data());
    } else if (impl_->precision == Precision::kBFloat16) {
      bf16.resize(weights.weight.size());
      for (std::size_t i = 0; i < bf16.size(); ++i) bf16[i] = float_to_bf16(weights.weight[i]);
      plain = memory(memory::desc({k, n}, memory::data_type::bf16, memory::format_tag::ba), impl_->engine, bf16.data());
    } else {
      plain = memory(memory::desc({k, n}, memory::data_type::f32, memory::format_tag::ba), impl_->engine,
                     const_cast<float*>(weights.weight.data()));
    }
    dnnl::reorder(plain, w.packed).execute(impl_->stream, plain, w.packed);
    impl_->stream.wait();
    w.bias_memory = memory(bias_desc, impl_->engine, w.bias.data());
  } catch (const dnnl::error& e) {
    return internal_error(fmt::format("oneDNN: preparing a {}x{} linear layer failed: {}", weights.out, weights.in, e.what()));
  }
  return linear;
}

}  // namespace airlock::engine::cpu
