// The airlock side of bench/engine/run_bench.py: loads a model once, then answers timing
// commands on stdin so that the driver can alternate it with PyTorch in the same run.
//   forward B S REPS   batch of B random sequences of S tokens through the encoder (ids in)
//   embed B S REPS     the same through Model::embed (texts in: tokenization and pooling too)
//   gemm M N K REPS [openblas]   one fp32 matmul M×K·K×N on oneDNN (the machine's GEMM peak) or
//                      OpenBLAS sgemm, the two libraries the CPU backend can use
//   vectors N          then N lines of text: their embeddings, as {"vectors": [[...], ...]} (to
//                      compare precisions and engines on the same inputs)
// Each answer is one JSON line: {"command", "median_s", "min_s"}. Flags: --model DIR, --threads N,
// --precision fp32|bf16|fp16|int8, --gemm onednn|openblas, --device cpu|cuda.
#include <cblas.h>
#include <omp.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <dnnl.hpp>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/model.h"

namespace {

using airlock::engine::Encoding;

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <typename F>
std::pair<double, double> time_reps(int reps, F&& body) {
  body();  // warm-up: primitives, scratch memory
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    double t0 = now();
    body();
    times.push_back(now() - t0);
  }
  std::sort(times.begin(), times.end());
  return {times[times.size() / 2], times.front()};
}

std::pair<double, double> openblas_gemm(std::int64_t m, std::int64_t n, std::int64_t k, int reps, int threads) {
  openblas_set_num_threads(threads);
  std::vector<float> a(static_cast<std::size_t>(m * k), 0.5f), b(static_cast<std::size_t>(k * n), 0.25f),
      c(static_cast<std::size_t>(m * n));
  // As the backend calls it: y = x·Wᵀ with W stored [n, k].
  return time_reps(reps, [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f,
                a.data(), static_cast<int>(k), b.data(), static_cast<int>(k), 0.0f, c.data(), static_cast<int>(n));
  });
}

std::pair<double, double> gemm(std::int64_t m, std::int64_t n, std::int64_t k, int reps, int threads) {
  using dnnl::memory;
  omp_set_num_threads(threads);
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(eng);
  std::vector<float> a(static_cast<std::size_t>(m * k), 0.5f), b(static_cast<std::size_t>(k * n), 0.25f),
      c(static_cast<std::size_t>(m * n));
  memory::desc a_md({m, k}, memory::data_type::f32, memory::format_tag::ab);
  memory::desc b_md({k, n}, memory::data_type::f32, memory::format_tag::any);
  memory::desc c_md({m, n}, memory::data_type::f32, memory::format_tag::ab);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), eng);
  memory plain_b(memory::desc({k, n}, memory::data_type::f32, memory::format_tag::ba), eng, b.data());
  memory packed(pd.weights_desc(), eng);
  dnnl::reorder(plain_b, packed).execute(stream, plain_b, packed);
  memory am(a_md, eng, a.data()), cm(c_md, eng, c.data());
  dnnl::matmul mm(pd);
  return time_reps(reps, [&] {
    mm.execute(stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, packed}, {DNNL_ARG_DST, cm}});
    stream.wait();
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_dir, precision = "fp32", gemm_name = "onednn", device = "cpu";
  int threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--model") model_dir = argv[i + 1];
    if (flag == "--threads") threads = std::stoi(argv[i + 1]);
    if (flag == "--precision") precision = argv[i + 1];
    if (flag == "--gemm") gemm_name = argv[i + 1];
    if (flag == "--device") device = argv[i + 1];
  }
  std::unique_ptr<airlock::engine::Model> model;
  if (!model_dir.empty()) {
    airlock::engine::LoadOptions options;
    options.backend.threads = threads;
    auto parsed = airlock::engine::parse_precision(precision);
    if (!parsed) {
      std::fprintf(stderr, "engine_bench: --precision must be %s (got \"%s\")\n",
                   std::string(airlock::engine::kPrecisionNames).c_str(), precision.c_str());
      return 2;
    }
    options.backend.precision = *parsed;
    options.backend.device = device == "cuda" ? airlock::engine::DeviceKind::kCuda : airlock::engine::DeviceKind::kCpu;
    options.backend.gemm = gemm_name == "openblas" ? airlock::engine::CpuGemm::kOpenBlas : airlock::engine::CpuGemm::kOneDnn;
    options.max_batch_tokens = 1 << 16;
    auto loaded = airlock::engine::Model::load(model_dir, options);
    if (!loaded.ok()) {
      std::fprintf(stderr, "engine_bench: %s\n", loaded.error().message().c_str());
      return 1;
    }
    model = std::move(loaded).value();
    std::fprintf(stderr, "engine_bench: %s\n", model->info().backend.c_str());
  }
  std::printf("{\"ready\": true}\n");
  std::fflush(stdout);
  std::mt19937 rng(1);
  for (std::string line; std::getline(std::cin, line);) {
    std::istringstream in(line);
    std::string command;
    in >> command;
    std::pair<double, double> t{0, 0};
    if (command == "gemm") {
      std::int64_t m, n, k;
      int reps;
      std::string library;
      in >> m >> n >> k >> reps >> library;
      t = library == "openblas" ? openblas_gemm(m, n, k, reps, threads) : gemm(m, n, k, reps, threads);
    } else if ((command == "forward" || command == "embed") && model) {
      int batch, length, reps;
      in >> batch >> length >> reps;
      std::vector<Encoding> inputs(static_cast<std::size_t>(batch));
      std::vector<std::string> texts(static_cast<std::size_t>(batch));
      std::uniform_int_distribution<int> id(1000, 20000);
      for (auto& e : inputs) {
        for (int i = 0; i < length; ++i) e.push(i == 0 ? 101 : i + 1 == length ? 102 : id(rng), 0, "", false);
      }
      for (auto& text : texts) {
        // Words the benchmark tokenizer maps to one token each: length - 2 of them, plus [CLS] and [SEP].
        for (int i = 0; i + 2 < length; ++i) text += fmt::format("w{} ", id(rng));
      }
      bool failed = false;
      if (command == "forward") {
        t = time_reps(reps, [&] { failed |= !model->hidden_states(inputs).ok(); });
      } else {
        t = time_reps(reps, [&] { failed |= !model->embed(texts).ok(); });
      }
      if (failed) {
        std::fprintf(stderr, "engine_bench: %s failed\n", command.c_str());
        return 1;
      }
    } else if (command == "vectors" && model) {
      // The next N lines are texts.
      int count = 0;
      in >> count;
      std::vector<std::string> texts(static_cast<std::size_t>(std::max(0, count)));
      for (auto& text : texts) std::getline(std::cin, text);
      auto e = model->embed(texts);
      if (!e.ok()) {
        std::fprintf(stderr, "engine_bench: %s\n", e.error().message().c_str());
        return 1;
      }
      std::string out = "{\"vectors\": [";
      for (std::int64_t r = 0; r < e->rows; ++r) out += fmt::format("{}[{:.7g}]", r ? ", " : "", fmt::join(e->row(r), ", "));
      out += "]}\n";
      std::fwrite(out.data(), 1, out.size(), stdout);
      std::fflush(stdout);
      continue;
    } else if (command == "quit") {
      break;
    } else {
      std::fprintf(stderr, "engine_bench: unknown command \"%s\"\n", line.c_str());
      return 2;
    }
    std::printf("{\"command\": \"%s\", \"median_s\": %.6f, \"min_s\": %.6f}\n", line.c_str(), t.first, t.second);
    std::fflush(stdout);
  }
  return 0;
}
