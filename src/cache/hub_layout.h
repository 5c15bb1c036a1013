// Where things live in a cache: the hub layout that NIM and Hugging Face tools read
// (`<hub>/models--<a>--<b>/{blobs,refs,snapshots}`), airlock's own records under `.airlock/`, and
// the names that come from outside (repo ids, revisions, blob names), checked before they become
// paths. See DESIGN.md "Cache layout".
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace airlock::cache {

// The three hubs of a cache. kFiles is airlock's own, for sources that have no hub of their own
// (plain https:// files and local paths): same shape, blobs named by sha256.
enum class Hub { kNgc, kHuggingFace, kFiles };

std::string_view hub_name(Hub hub);  // "ngc", "huggingface", "files"
Result<Hub> parse_hub_name(std::string_view name);
inline constexpr Hub kAllHubs[] = {Hub::kNgc, Hub::kHuggingFace, Hub::kFiles};

// One model repository of one hub: "nim/meta/llama-3.1-8b-instruct" (NGC, team optional),
// "BAAI/bge-small-en-v1.5" (Hugging Face), "127.0.0.1_8080" (files).
struct RepoId {
  Hub hub = Hub::kHuggingFace;
  std::string name;

  // "ngc:nim/meta/llama-3.1-8b-instruct", the form `airlock cache` prints and accepts.
  std::string display() const;
  bool operator==(const RepoId&) const = default;
};

// A repo id as a person types it: "hf:BAAI/bge-small-en-v1.5", "ngc:nim/meta/x"; without a hub
// prefix, a name is looked up in every hub by the caller.
Result<RepoId> parse_repo_display(std::string_view text);

// Checks a repo name: 1 to 3 '/'-separated components of letters, digits, '-', '_', '.', none
// "." or "..", none containing "--" (the separator of folder names) nor starting or ending in '-'.
Status validate_repo_name(Hub hub, std::string_view name);
// "models--" + name with '/' replaced by "--" (the Hugging Face rule, also NIM's for NGC).
std::string repo_folder_name(const RepoId& repo);
// The inverse; fails for folders that are not "models--..." with valid components.
Result<RepoId> parse_repo_folder_name(Hub hub, std::string_view folder);

// A blob name from a server (an etag, an S3 ETag like "3e71...-3091", a sha256): 1-128 of
// [A-Za-z0-9-_], no path characters.
Status validate_blob_name(std::string_view name);
// A snapshot (revision) directory name: one path component (NGC versions carry '+' and '.').
Status validate_snapshot_name(std::string_view name);
// A ref name: a relative path (Hugging Face nests "refs/pr/1").
Status validate_ref_name(std::string_view name);
// A profile id used as a record file name: letters, digits, '-', '_', 1-128 characters.
Status validate_profile_id(std::string_view id);

class CacheLayout {
 public:
  explicit CacheLayout(std::filesystem::path root);

  const std::filesystem::path& root() const { return root_; }

  std::filesystem::path hub_dir(Hub hub) const;  // <root>/ngc/hub, <root>/huggingface/hub, <root>/files/hub
  std::filesystem::path repo_dir(const RepoId& repo) const;
  std::filesystem::path blobs_dir(const RepoId& repo) const;
  std::filesystem::path blob_path(const RepoId& repo, std::string_view blob) const;
  std::filesystem::path refs_dir(const RepoId& repo) const;
  std::filesystem::path ref_path(const RepoId& repo, std::string_view ref) const;
  std::filesystem::path snapshots_dir(const RepoId& repo) const;
  std::filesystem::path snapshot_dir(const RepoId& repo, std::string_view snapshot) const;
  // snapshots/<snapshot>/<path>, with `path` validated and no symlink on the way leading out of
  // the cache (safe_join).
  Result<std::filesystem::path> snapshot_file(const RepoId& repo, std::string_view snapshot, std::string_view path) const;

  // `<hub>/.locks/<folder>/<key>.lock`: Hugging Face's place for per-blob locks.
  std::filesystem::path lock_path(const RepoId& repo, std::string_view key) const;
  // Where a download in progress lives until its check passes. Hugging Face keeps them as
  // `blobs/<etag>.incomplete`; NGC (NIM) and files stage in `<hub>/tmp/`.
  std::filesystem::path incomplete_path(const RepoId& repo, std::string_view key) const;

  std::filesystem::path airlock_dir() const;  // <root>/.airlock
  std::filesystem::path profiles_dir() const;  // <root>/.airlock/profiles
  std::filesystem::path profile_record_path(std::string_view id) const;

  // `path` relative to the root, '/'-separated ("ngc/hub/models--a--b/blobs/x"), for records.
  std::string relative(const std::filesystem::path& path) const;

 private:
  std::filesystem::path root_;
};

// Creates the hub directory and, for Hugging Face, the CACHEDIR.TAG that huggingface_hub writes.
Status ensure_hub_dir(const CacheLayout& layout, Hub hub);

// Every repo folder of a hub that parses as one, sorted by name.
Result<std::vector<RepoId>> list_repos(const CacheLayout& layout, Hub hub);

}  // namespace airlock::cache
