// Scanning a local tree (a cache) into index entries: regular files, and symlinks recorded with
// their relative targets, as a hub cache needs them. With follow_symlinks the files a symlink
// points to are taken as copies instead (for readers that cannot read the index).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"
#include "sync/index.h"

namespace airlock::sync {

struct LocalEntry {
  IndexEntry entry;              // sha256 not yet filled
  std::filesystem::path source;  // the file whose bytes make the entry (a followed link's target)
};

struct ScanOptions {
  bool follow_symlinks = false;
};

struct ScanResult {
  std::vector<LocalEntry> entries;   // sorted by path, validated as an index would be
  std::vector<std::string> skipped;  // what was left out and why ("a/fifo: not a regular file")
};

// Walks `root`. An absolute symlink that points inside the tree is recorded with the
// equivalent relative target; one that leaves the tree is an error naming --follow-symlinks
// (or, with it, is read through). airlock's own temporary files, the reserved
// .airlock/index.json, and the cache's locks and staging folder under .airlock/ are skipped.
Result<ScanResult> scan_tree(const std::filesystem::path& root, const ScanOptions& options);

// Names airlock gives files while it writes them; never pushed, never listed as content.
bool is_airlock_temp_name(std::string_view name);

// The name of the partial download of `path` (beside it): ".<name>.airlock-partial".
std::filesystem::path partial_path_for(const std::filesystem::path& path);

}  // namespace airlock::sync
