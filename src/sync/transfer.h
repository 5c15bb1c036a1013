// What push, pull, verify and bundle share: how much runs in parallel, progress output, and
// reading the store index.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "core/progress.h"
#include "core/result.h"
#include "store/store.h"
#include "sync/index.h"

namespace airlock::sync {

struct TransferOptions {
  int jobs = 8;           // files in flight
  int part_parallel = 4;  // ranged GETs / multipart parts of one large object in flight
  std::uint64_t part_size = 16 * store::kMiB;
  std::uint64_t multipart_threshold = 1024 * store::kMiB;  // see store::WriteOptions
  ProgressOptions progress;
  // Set from another thread (a signal handler's watcher) to stop early with kCancelled.
  std::shared_ptr<std::atomic<bool>> cancel;
};

// The index of the tree at the store's root: nullopt when there is none (an unfinished push, or
// a tree not written by airlock). A present but invalid index is an error.
Result<std::optional<StoreIndex>> read_store_index(store::Store& store);

// sha256 of a local file, adding to `progress` as it reads; fails when the file's size is not
// `expected_size` (it changed since it was scanned).
Result<std::string> hash_local_file(const std::filesystem::path& path, std::optional<std::uint64_t> expected_size,
                                    Progress* progress, const std::shared_ptr<std::atomic<bool>>& cancel);

// sha256 of a store object, read with the transfer's parallelism.
Result<std::string> hash_store_object(store::Store& store, const std::string& key, std::uint64_t size,
                                      const TransferOptions& options, Progress* progress);

// Runs body(i) for i in [0, count) on `jobs` threads; stops handing out work after the first
// error (or a cancel) and returns that error.
Status run_parallel(std::size_t count, int jobs, const std::shared_ptr<std::atomic<bool>>& cancel,
                    const std::function<Status(std::size_t)>& body);

}  // namespace airlock::sync
