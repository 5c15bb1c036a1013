// From token states to one vector per text: sentence-transformers' pooling modes, its Dense and
// Normalize modules, and Matryoshka truncation.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/model_config.h"

namespace airlock::engine {

// Pools one sequence's states [length, hidden] (tokens before `skip` — a prompt that must not
// count — are left out, as sentence-transformers does with include_prompt=false). Appends the
// concatenation of `modes` to `out`.
void pool(const float* states, std::int64_t length, std::int64_t hidden, std::span<const PoolingMode> modes,
          std::int64_t skip, std::vector<float>& out);

// y = act(W·x + b) for a sentence-transformers Dense module.
std::vector<float> apply_dense(const DenseLayer& dense, std::span<const float> x);

// x / max(‖x‖₂, 1e-12), the norm accumulated in double.
void l2_normalize(std::span<float> x);

}  // namespace airlock::engine
