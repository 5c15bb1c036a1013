// The generated models, tokenizers and reference outputs the engine tests compare against
// (make_tiny_models.py). Generated once per content of the generator scripts and cached in the
// build directory, under a lock, because ctest runs each test case as its own process.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "core/json.h"

namespace airlock::testing {

struct EngineTestdata {
  std::filesystem::path root;
  Json manifest;
};

// nullopt when the tools are missing (python3 with torch, node, spm_train); `why` says which.
const EngineTestdata* engine_testdata(std::string* why);

std::string hex_decode(std::string_view hex);

}  // namespace airlock::testing
