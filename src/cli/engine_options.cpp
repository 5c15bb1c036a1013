#include "cli/engine_options.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "core/log.h"

namespace airlock::cli {

void EngineOptions::add_to(CLI::App& command) {
  command.add_option("-m,--model", model, "Model snapshot directory (config.json, tokenizer, model.safetensors), or a "
                                          "hub cache folder models--org--name")
      ->required();
  command.add_option("--device", device, "cpu or cuda")->capture_default_str();
  command.add_option("--precision", precision, "fp32, bf16 (CPU with avx512_bf16, or CUDA), fp16 (CUDA) or int8 (CPU with VNNI: "
                                       "weights per channel, activations per token)")
      ->capture_default_str();
  command.add_option("--gemm", gemm, "CPU matrix library: onednn or openblas")->capture_default_str();
  command.add_option("--threads", threads, "CPU threads (0: all cores)")->capture_default_str();
  command.add_option("--truncate", truncate, "Inputs over the model's limit: NONE (error), END or START")
      ->capture_default_str();
}

Result<engine::LoadOptions> EngineOptions::load_options() const {
  engine::LoadOptions options;
  if (device == "cpu") {
    options.backend.device = engine::DeviceKind::kCpu;
  } else if (device == "cuda") {
    options.backend.device = engine::DeviceKind::kCuda;
  } else {
    return invalid_argument(fmt::format("--device must be cpu or cuda (got \"{}\")", device));
  }
  if (auto parsed = engine::parse_precision(precision)) {
    options.backend.precision = *parsed;
  } else {
    return invalid_argument(fmt::format("--precision must be {} (got \"{}\")", engine::kPrecisionNames, precision));
  }
  if (gemm == "onednn") {
    options.backend.gemm = engine::CpuGemm::kOneDnn;
  } else if (gemm == "openblas") {
    options.backend.gemm = engine::CpuGemm::kOpenBlas;
  } else {
    return invalid_argument(fmt::format("--gemm must be onednn or openblas (got \"{}\")", gemm));
  }
  if (threads < 0) return invalid_argument("--threads must be >= 0");
  options.backend.threads = threads;
  return options;
}

Result<engine::Truncate> EngineOptions::truncation() const {
  std::string t = truncate;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::toupper(c); });
  if (t == "NONE") return engine::Truncate::kNone;
  if (t == "END") return engine::Truncate::kEnd;
  if (t == "START") return engine::Truncate::kStart;
  return invalid_argument(fmt::format("--truncate must be NONE, END or START (got \"{}\")", truncate));
}

Result<std::unique_ptr<engine::Model>> EngineOptions::load() const {
  AIRLOCK_ASSIGN_OR_RETURN(engine::LoadOptions options, load_options());
  AIRLOCK_ASSIGN_OR_RETURN(std::filesystem::path dir, engine::resolve_model_dir(model));
  AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<engine::Model> loaded, engine::Model::load(dir, options));
  log::debug("model {}: {} ({}), {}", dir.string(), loaded->info().architecture, loaded->info().backend,
             loaded->info().kind == engine::ModelKind::kEmbedding ? "embedding" : "classifier");
  return loaded;
}

}  // namespace airlock::cli
