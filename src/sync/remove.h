// rm -r: delete a pushed tree. The index goes first, so that a reader never sees an index
// whose objects are half gone; then every object under the prefix (listed, or taken from the
// index on a store that cannot list).
#pragma once

#include <string>
#include <vector>

#include "core/json.h"
#include "store/store.h"
#include "sync/transfer.h"

namespace airlock::sync {

struct RemoveOptions : TransferOptions {
  bool dry_run = false;  // list what would go, delete nothing
};

struct RemoveSummary {
  std::string store;
  std::size_t objects = 0;
  std::uint64_t bytes = 0;
  bool index_removed = false;
  bool dry_run = false;
  std::vector<std::string> keys;  // with dry_run: what would be deleted

  Json to_json() const;
  std::string to_text() const;
};

Result<RemoveSummary> remove_tree(store::Store& store, const RemoveOptions& options);

}  // namespace airlock::sync
