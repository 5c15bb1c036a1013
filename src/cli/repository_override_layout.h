// `push --layout nim-repository-override` and `pull --layout nim-repository-override`: a cache's
// downloaded profiles as the objects an unmodified NIM reads with NIM_REPOSITORY_OVERRIDE
// (sync/repository_override.h), and back into a cache. The cache side lives here because it
// joins two libraries that may not know each other: cache (records, hub layout) and sync.
#pragma once

#include <filesystem>

#include "core/result.h"
#include "store/store.h"
#include "sync/pull.h"
#include "sync/push.h"

namespace airlock::cli {

// Every ngc:// file of every profile recorded in the cache at `cache_root` (plus the records).
Result<sync::PushSummary> push_repository_override_layout(const std::filesystem::path& cache_root, store::Store& store,
                                                          const sync::PushOptions& options);

// The store's objects, verified, installed into the cache's NGC hub (blobs, snapshot links,
// refs) with the profile records that came along.
Result<sync::PullSummary> pull_repository_override_layout(store::Store& store, const std::filesystem::path& cache_root,
                                                          const sync::PullOptions& options);

}  // namespace airlock::cli
