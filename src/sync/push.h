// push: a local tree (a model cache) into a store, exactly once and resumably.
//
// 1. Scan the tree (files, and symlinks recorded with relative targets) and hash every file.
// 2. Compare with what the store has: an object of the same size is kept when the existing
//    index, the sha256 stored with the object, or (for stores that cannot say) the object's own
//    bytes prove it equal. An unchanged tree uploads nothing and leaves the index alone.
// 3. Remove the old index (the prefix now reads as unfinished), upload what is missing or
//    wrong, abort multipart uploads an interrupted push left behind, write the index last.
// A push killed at any point and run again finishes the job without uploading completed files.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/json.h"
#include "store/store.h"
#include "sync/transfer.h"

namespace airlock::sync {

struct PushOptions : TransferOptions {
  bool follow_symlinks = false;
  bool dry_run = false;
};

struct PushSummary {
  std::string source;
  std::string destination;
  std::size_t files = 0;
  std::size_t symlinks = 0;
  std::uint64_t bytes = 0;  // of all files in the tree
  std::size_t uploaded_files = 0;
  std::uint64_t uploaded_bytes = 0;
  std::size_t unchanged_files = 0;
  std::size_t aborted_uploads = 0;
  bool index_written = false;
  bool dry_run = false;
  std::vector<std::string> to_upload;  // paths uploaded (or, with dry_run, that would be)
  std::vector<std::string> skipped;    // left out of the tree, with why
  double seconds = 0;

  Json to_json() const;
  std::string to_text() const;
};

Result<PushSummary> push(const std::filesystem::path& source, store::Store& store, const PushOptions& options);

}  // namespace airlock::sync
