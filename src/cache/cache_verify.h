// `airlock cache verify`: every file rehashed against what the cache promises about it. Profile
// records promise size and sha256 (and BLAKE3 where a checksums.blake3 covered the file);
// Hugging Face blobs are named by their hash (sha256 for LFS files, git blob sha1 for others);
// NGC snapshots that hold a checksums.blake3 promise the BLAKE3 of their files. Each file is read
// once, whatever the number of promises about it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cache/hub_layout.h"
#include "core/json.h"
#include "core/progress.h"
#include "core/result.h"

namespace airlock::cache {

enum class FileState { kOk, kMissing, kCorrupt };
std::string_view file_state_name(FileState state);  // "ok", "missing", "corrupt"

struct VerifiedFile {
  std::string subject;  // "profile <id>: <path>", "hf:org/name blob <etag>", "ngc:org/team/m@<ver>: <file>"
  std::string path;     // the file on disk (relative to the cache root)
  FileState state = FileState::kOk;
  std::string detail;   // what is wrong
  std::uint64_t size = 0;
};

struct VerifyReport {
  std::vector<VerifiedFile> files;
  std::size_t ok = 0;
  std::size_t missing = 0;
  std::size_t corrupt = 0;
  std::uint64_t bytes_hashed = 0;
  std::vector<std::string> problems;  // unreadable records and the like

  bool clean() const { return missing == 0 && corrupt == 0 && problems.empty(); }
};

struct VerifyOptions {
  std::optional<std::string> profile;  // only this profile's files
  std::size_t threads = 0;             // 0: one per core
  ProgressOptions progress;
};

Result<VerifyReport> verify_cache(const CacheLayout& layout, const VerifyOptions& options);

Json verify_report_to_json(const VerifyReport& report);
// Problems first, one per line, then a summary line.
std::string render_verify_report(const VerifyReport& report);

}  // namespace airlock::cache
