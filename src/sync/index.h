// The store index, `<prefix>/.airlock/index.json`: what a pushed tree holds, written last by a
// push so that a prefix without it is an unfinished push.
//
//   {"format": "airlock-store/1", "created_by": "airlock 0.1.0", "entries": [
//     {"path": "hub/models--a--b/blobs/ab12", "type": "file", "size": 123, "sha256": "<64 hex>"},
//     {"path": "hub/models--a--b/snapshots/r/config.json", "type": "symlink", "target": "../../blobs/ab12"}]}
//
// Parsing is strict, because an index comes from outside: every path is a safe relative path,
// no path repeats or lies below a file or symlink, and every symlink target resolves (through
// the other symlinks of the index) to a place inside the tree. Unknown fields are ignored so
// that later minor versions stay readable.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/result.h"

namespace airlock::sync {

inline constexpr std::string_view kIndexFormat = "airlock-store/1";
inline constexpr std::string_view kIndexKey = ".airlock/index.json";
// An index larger than this is refused (about 2.5 million entries).
inline constexpr std::uint64_t kMaxIndexBytes = 512ull * 1024 * 1024;

enum class EntryType { kFile, kSymlink };

struct IndexEntry {
  std::string path;
  EntryType type = EntryType::kFile;
  std::uint64_t size = 0;  // files
  std::string sha256;      // files; empty for a plain (index-less) tree, which nothing verifies
  std::string target;      // symlinks, relative to the link's directory

  bool operator==(const IndexEntry&) const = default;
};

struct StoreIndex {
  std::vector<IndexEntry> entries;  // sorted by path

  std::uint64_t file_bytes() const;
  std::size_t file_count() const;
  std::size_t symlink_count() const;
};

// Parses and validates an index document; `source` names it in errors.
Result<StoreIndex> parse_index(std::string_view text, std::string_view source);

// The document for `index` (entries sorted by path), newline-terminated.
std::string serialize_index(const StoreIndex& index);

// The checks parse_index makes, for entries built elsewhere (a scanned tree, a listing, an
// archive): safe paths, no duplicates, nothing below a file or symlink, symlinks that stay inside.
// Sorts `entries` by path.
Status validate_entries(std::vector<IndexEntry>& entries, std::string_view source);

// Whether the symlink at `link_path` with `target` resolves inside the tree, following the
// other symlinks of `entries` (sorted by path) on the way.
Status check_symlink_resolution(const std::vector<IndexEntry>& entries, const IndexEntry& link,
                                std::string_view source);

}  // namespace airlock::sync
