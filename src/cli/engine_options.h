// Flags shared by the commands that run a model (embed, rank): where the model is and how to
// run it.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "core/result.h"
#include "engine/model.h"

namespace airlock::cli {

struct EngineOptions {
  std::string model;
  std::string device = "cpu";
  std::string precision = "fp32";
  std::string gemm = "onednn";
  int threads = 0;
  std::string truncate = "END";

  void add_to(CLI::App& command);
  Result<engine::LoadOptions> load_options() const;
  Result<engine::Truncate> truncation() const;
  // Loads the model from --model (a snapshot directory, or a hub cache repository folder).
  Result<std::unique_ptr<engine::Model>> load() const;
};

}  // namespace airlock::cli
