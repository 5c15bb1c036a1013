// Taking things out of a cache: `cache prune` (blobs no snapshot links to, and optionally
// abandoned partial downloads) and `cache rm` (a profile, a repository, or one revision of it).
// Both are planned first (what would go, how many bytes) and applied separately, so that the CLI
// can show a dry run; applying takes the cache lock exclusively so that no download is running.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "cache/hub_layout.h"
#include "core/json.h"
#include "core/result.h"

namespace airlock::cache {

struct CleanupItem {
  std::filesystem::path path;
  std::uint64_t bytes = 0;
  std::string why;
};

struct CleanupPlan {
  std::vector<CleanupItem> items;         // files and directories to delete, in order
  std::vector<std::string> records;       // profile ids whose records go
  std::uint64_t bytes = 0;

  bool empty() const { return items.empty() && records.empty(); }
};

struct PruneOptions {
  bool partial = false;  // also abandoned partial downloads (their resume is lost)
};
Result<CleanupPlan> plan_prune(const CacheLayout& layout, const PruneOptions& options);

// Targets: a profile id; "hf:<org>/<name>", "ngc:<org>/[<team>/]<model>", "files:<host>" (a whole
// repository); "<repo>@<revision>" (one snapshot and the refs that point at it). Removing files a
// profile needs removes that profile's record too: a record means "complete".
Result<CleanupPlan> plan_remove(const CacheLayout& layout, const std::vector<std::string>& targets);

// Fails with kUnavailable while a download holds the cache.
Status apply_cleanup(const CacheLayout& layout, const CleanupPlan& plan);

Json cleanup_plan_to_json(const CacheLayout& layout, const CleanupPlan& plan, bool applied);
std::string render_cleanup_plan(const CacheLayout& layout, const CleanupPlan& plan, bool applied);

}  // namespace airlock::cache
