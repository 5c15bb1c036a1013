// verify: check a pushed tree against its index, in the store (every object present, of the
// right size and, with full verification, the right sha256) or in a local copy (--against DIR:
// files, sizes, hashes and symlink targets).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "store/store.h"
#include "sync/pull.h"

namespace airlock::sync {

struct VerifyOptions : TransferOptions {
  VerifyMode mode = VerifyMode::kFull;
  std::optional<std::filesystem::path> against;  // a local tree instead of the store's objects
};

struct VerifyProblem {
  std::string path;
  std::string problem;  // "missing", "size 10, index says 12", "sha256 ab.., index says cd..", ...
};

struct VerifyReport {
  std::string store;
  std::string checked;  // the store URI or the local directory
  std::size_t files = 0;
  std::size_t symlinks = 0;
  std::uint64_t bytes = 0;
  bool hashes_checked = false;
  std::vector<VerifyProblem> problems;
  std::vector<std::string> extra;  // local files not in the index (--against only)
  double seconds = 0;

  bool ok() const { return problems.empty(); }
  Json to_json() const;
  std::string to_text() const;
};

// Fails only when verification could not run (no index, network); a report with problems is a
// result, not an error.
Result<VerifyReport> verify(store::Store& store, const VerifyOptions& options);

}  // namespace airlock::sync
