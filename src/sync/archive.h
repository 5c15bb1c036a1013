// Archives with libarchive: unpacking a tar (plain, gzip or zstd) or zip safely, and writing a
// bundle (a tar, optionally zstd, of a tree with its index as the first entry) for moving a
// cache on removable media.
//
// Unpacking never writes outside the destination and never half-applies: entries go into a
// staging directory inside it, every path is checked (no "..", no absolute path, nothing below
// a file or symlink, symlinks that stay inside, no hard links or devices), files are hashed as
// they are written, and only when the whole archive passed (and, when it carries an index,
// matches it exactly) are the entries moved into place.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "core/json.h"
#include "store/store.h"
#include "sync/pull.h"

namespace airlock::sync {

// Feeds the archive's bytes in order (a store read, a local file).
using ArchiveReader = std::function<Status(const store::ByteSink& sink)>;

struct UnpackOptions {
  VerifyMode verify = VerifyMode::kFull;
  ProgressOptions progress;
  std::uint64_t size_hint = 0;  // for the progress bar
  std::string name;             // for messages and format hints (".zip")
};

// Unpacks into `destination`. A zip is first copied to a temporary file inside the
// destination (zip keeps its directory at the end, so it cannot be read as a stream).
Result<PullSummary> unpack_archive(const ArchiveReader& reader, const std::filesystem::path& destination,
                                   const UnpackOptions& options);

struct BundleOptions : TransferOptions {
  bool zstd = false;  // also chosen by a file name ending in .zst / .tzst
  int zstd_level = 3;
  bool follow_symlinks = false;
};

struct BundleSummary {
  std::string source;
  std::string file;
  std::size_t files = 0;
  std::size_t symlinks = 0;
  std::uint64_t bytes = 0;
  std::uint64_t archive_bytes = 0;
  bool zstd = false;
  double seconds = 0;

  Json to_json() const;
  std::string to_text() const;
};

Result<BundleSummary> bundle(const std::filesystem::path& source, const std::filesystem::path& file,
                             const BundleOptions& options);

// The inverse of bundle: unpacks `file` into `destination`, verifying it against its index.
Result<PullSummary> unbundle(const std::filesystem::path& file, const std::filesystem::path& destination,
                             const PullOptions& options);

}  // namespace airlock::sync
