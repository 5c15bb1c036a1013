// What a cache holds, for `airlock cache ls` and `airlock cache du`: repositories with their
// revisions, refs, sizes and times (like `hf cache ls`), and the profiles recorded in it.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "cache/hub_layout.h"
#include "cache/profile_record.h"
#include "core/json.h"
#include "core/result.h"

namespace airlock::cache {

struct RevisionInfo {
  std::string snapshot;
  std::vector<std::string> refs;  // refs that point at it
  std::size_t files = 0;
  std::uint64_t size = 0;  // bytes of the blobs its files link to
  std::size_t missing = 0;  // entries whose blob is gone
};

struct RepoInfo {
  RepoId repo;
  std::vector<RevisionInfo> revisions;
  std::size_t blobs = 0;
  std::uint64_t size = 0;          // apparent bytes of blobs/ (each blob once)
  std::uint64_t disk_bytes = 0;    // allocated bytes of blobs/
  std::uint64_t partial_bytes = 0;  // downloads in progress or interrupted (resumable)
  std::size_t unreferenced_blobs = 0;
  std::uint64_t unreferenced_bytes = 0;
  std::time_t last_accessed = 0;
  std::time_t last_modified = 0;
  std::vector<std::string> profiles;  // ids of recorded profiles using it
  std::vector<std::string> warnings;  // what a hub scanner would flag as corrupt
};

struct CacheInventory {
  std::string root;
  std::vector<RepoInfo> repos;
  std::vector<ProfileRecord> profiles;
  std::vector<std::string> problems;  // unreadable records
  std::uint64_t total_size = 0;
  std::uint64_t total_disk_bytes = 0;
  std::uint64_t total_partial_bytes = 0;
};

Result<CacheInventory> scan_cache(const CacheLayout& layout);

Json inventory_to_json(const CacheInventory& inventory);
// The `cache ls` table: one line per repository (and per revision with `revisions`), then profiles.
std::string render_inventory(const CacheInventory& inventory, bool revisions);
// The `cache du` table: bytes per hub and repository, partial downloads, and the total.
std::string render_disk_usage(const CacheInventory& inventory);

}  // namespace airlock::cache
