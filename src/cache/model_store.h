// create-model-store: one profile's files copied out of the cache into a plain directory (no
// symlinks, no hub layout), for runtimes that want a model directory. Every byte is checked
// against the profile record's sha256 while it is copied.
#pragma once

#include <cstdint>
#include <filesystem>

#include "cache/hub_layout.h"
#include "cache/profile_record.h"
#include "core/progress.h"
#include "core/result.h"

namespace airlock::cache {

struct ModelStoreResult {
  std::size_t files = 0;
  std::uint64_t bytes = 0;
  std::size_t unchanged = 0;  // already there with the right content
};

// Writes <store>/<workspace path> for each file of `record` (atomically, each through a
// temporary name). A file already in the store with the recorded size and sha256 is left alone.
// Paths are validated against `store` (no '..', no symlink inside the store leading out).
Result<ModelStoreResult> create_model_store(const CacheLayout& layout, const ProfileRecord& record,
                                            const std::filesystem::path& store, const ProgressOptions& progress);

}  // namespace airlock::cache
