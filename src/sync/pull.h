// pull: a store (or an archive) into a local tree, verified and resumable.
//
// The store's index says what the tree holds. Every entry is checked before anything is
// written (paths inside the destination, symlinks that stay inside, no path through a local
// symlink that leaves it). Files that are missing or wrong locally are fetched into
// ".<name>.airlock-partial" beside their final name, hashed while bytes arrive, and renamed into
// place only when size and sha256 match; a partial file left by an interrupted pull is
// continued. An object whose bytes do not match the index is reported with both hashes,
// fetched once more, and then fails the pull: it is never accepted. Symlinks are recreated last.
//
// A store without an index is pulled as a plain tree (every key under the prefix) and reported
// as unverified. An archive (.tar, .tar.gz, .tar.zst, .zip) is unpacked safely; a bundle made
// by `airlock bundle` carries its index and is verified like a store.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/json.h"
#include "store/store.h"
#include "sync/transfer.h"

namespace airlock::sync {

enum class VerifyMode {
  kFull,  // sha256 of every fetched byte and of every local file taken as up to date
  kSize,  // sizes only (faster; for trusted media)
};

Result<VerifyMode> parse_verify_mode(std::string_view text);

struct PullOptions : TransferOptions {
  VerifyMode verify = VerifyMode::kFull;
};

struct PullSummary {
  std::string source;
  std::string destination;
  bool indexed = false;   // the store had an index
  bool verified = false;  // every file's sha256 was checked against the index
  std::size_t files = 0;
  std::size_t symlinks = 0;
  std::uint64_t bytes = 0;
  std::size_t fetched_files = 0;
  std::uint64_t fetched_bytes = 0;
  std::size_t resumed_files = 0;
  std::size_t up_to_date_files = 0;
  std::size_t refetched_corrupt = 0;  // objects that failed their check once and then passed
  double seconds = 0;

  Json to_json() const;
  std::string to_text() const;
};

Result<PullSummary> pull(store::Store& store, const std::filesystem::path& destination, const PullOptions& options);

// Pulls the archive `key` of `store` (or a local archive file) into `destination`.
Result<PullSummary> pull_archive(store::Store& store, const std::string& key, const std::filesystem::path& destination,
                                 const PullOptions& options);

}  // namespace airlock::sync
