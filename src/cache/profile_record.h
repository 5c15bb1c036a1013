// `.airlock/profiles/<id>.json`: which snapshot files make up a downloaded profile, with the size
// and sha256 of each. download-to-cache writes it last (once every file is in place), so its
// presence means "this profile is complete"; verify, create-model-store, the runtime and the
// store index read it. Paths are relative to the cache root so that a moved cache stays valid.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cache/hub_layout.h"
#include "core/json.h"
#include "core/result.h"

namespace airlock::cache {

inline constexpr std::string_view kProfileRecordFormat = "airlock-profile/1";

struct RecordedFile {
  std::string path;      // in the profile's workspace ("trtllm_engine/rank0.engine")
  std::string uri;       // where it came from (secrets redacted)
  RepoId repo;
  std::string snapshot;  // revision directory
  std::string file;      // path inside the snapshot
  std::string blob;      // blobs/ name ("" for a plain file in a no-symlink cache)
  std::uint64_t size = 0;
  std::string sha256;
  std::optional<std::string> blake3;  // when a checksums.blake3 covered it
};

struct ProfileRecord {
  std::string id;
  std::string description;
  std::vector<std::pair<std::string, std::string>> tags;
  std::string model;
  std::vector<std::string> manifests;
  std::string created_at;  // ISO 8601, UTC
  std::vector<RecordedFile> files;

  std::uint64_t total_size() const;
};

Json record_to_json(const CacheLayout& layout, const ProfileRecord& record);
// Validates everything a path will be built from (ids, repo names, revisions, paths, hashes).
Result<ProfileRecord> record_from_json(const Json& json, std::string_view source);

Status write_profile_record(const CacheLayout& layout, const ProfileRecord& record);
Result<ProfileRecord> read_profile_record(const CacheLayout& layout, std::string_view id);
// Records that cannot be read are returned in `problems` (with why), not silently skipped.
struct RecordList {
  std::vector<ProfileRecord> records;  // sorted by id
  std::vector<std::string> problems;
};
Result<RecordList> list_profile_records(const CacheLayout& layout);
Status remove_profile_record(const CacheLayout& layout, std::string_view id);

// The snapshot entry of a recorded file (validated; may not exist).
Result<std::filesystem::path> recorded_file_path(const CacheLayout& layout, const RecordedFile& file);

// "2025-01-31T12:00:00Z" for now.
std::string utc_timestamp_now();

}  // namespace airlock::cache
