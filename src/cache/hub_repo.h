// Writing and reading one repository of the hub layout: blobs put in place only once checked,
// snapshot entries as relative symlinks, refs without a trailing newline. Every write is atomic
// (temporary name, then rename), so a reader or a killed process never sees half of one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/hub_layout.h"
#include "core/result.h"

namespace airlock::cache {

// Moves `verified_file` (already checked against its hashes) to blobs/<blob>. When the blob is
// already there (another process or another revision got it first) the existing one is kept and
// `verified_file` removed: same name, same content. The rename is atomic; callers that want it
// durable across a power loss sync the file before and blobs/ after.
Status install_blob(const CacheLayout& layout, const RepoId& repo, const std::filesystem::path& verified_file,
                    std::string_view blob);

// Makes snapshots/<snapshot>/<path> a relative symlink to ../../blobs/<blob> (one more "../" per
// directory level in `path`), replacing an entry that points elsewhere.
Status link_snapshot_file(const CacheLayout& layout, const RepoId& repo, std::string_view snapshot,
                          std::string_view path, std::string_view blob);

// refs/<ref> holding `commit` with no trailing newline (huggingface_hub reads it unstripped).
Status write_ref(const CacheLayout& layout, const RepoId& repo, std::string_view ref, std::string_view commit);
// The ref's content (trailing whitespace tolerated: others' tools may have written it), or
// nullopt when there is no such ref.
Result<std::optional<std::string>> read_ref(const CacheLayout& layout, const RepoId& repo, std::string_view ref);

// What a snapshot entry holds.
struct SnapshotEntry {
  std::filesystem::path path;     // snapshots/<snapshot>/<path>
  std::optional<std::string> blob;  // the blobs/ name it links to; nullopt for a plain file (no-symlink caches)
  std::filesystem::path target;   // the file holding the bytes (the blob, or the entry itself)
  bool present = false;           // the bytes exist (a link to a missing blob is not present)
  std::uint64_t size = 0;
};

// Reads snapshots/<snapshot>/<path>. nullopt when there is no entry. A symlink that leads
// anywhere but this repo's blobs/ is an error (a hostile or broken cache).
Result<std::optional<SnapshotEntry>> read_snapshot_entry(const CacheLayout& layout, const RepoId& repo,
                                                         std::string_view snapshot, std::string_view path);

// The files of a snapshot (relative paths, '/'-separated, sorted), symlinks and plain files.
Result<std::vector<std::string>> list_snapshot_files(const CacheLayout& layout, const RepoId& repo,
                                                     std::string_view snapshot);

// Revision -> snapshot name: a 40-hex commit is itself; else refs/<revision> when present
// (Hugging Face's offline resolution); else nullopt.
Result<std::optional<std::string>> resolve_revision(const CacheLayout& layout, const RepoId& repo,
                                                    std::string_view revision);

// Hugging Face's marker for a file that the hub said does not exist at a commit.
Status write_no_exist_marker(const CacheLayout& layout, const RepoId& repo, std::string_view commit,
                             std::string_view path);

}  // namespace airlock::cache
