#include "sync/remove.h"

#include <fmt/format.h>

#include <mutex>

#include "core/units.h"

namespace airlock::sync {

Json RemoveSummary::to_json() const {
  Json json;
  json["store"] = store;
  json["objects"] = objects;
  json["bytes"] = bytes;
  json["index_removed"] = index_removed;
  json["dry_run"] = dry_run;
  if (dry_run) json["would_delete"] = keys;
  return json;
}

std::string RemoveSummary::to_text() const {
  std::string out;
  if (dry_run) {
    for (const auto& key : keys) out += "would delete " + key + "\n";
    out += fmt::format("dry run: {} objects ({}) would be deleted from {}\n", objects, format_bytes(bytes), store);
    return out;
  }
  out += fmt::format("deleted {} objects ({}) from {}{}\n", objects, format_bytes(bytes), store,
                     index_removed ? ", index first" : "");
  return out;
}

Result<RemoveSummary> remove_tree(store::Store& store, const RemoveOptions& options) {
  RemoveSummary summary;
  summary.store = store.display_uri();
  summary.dry_run = options.dry_run;
  std::vector<std::pair<std::string, std::uint64_t>> objects;
  bool has_index = false;
  if (store.capabilities().list) {
    AIRLOCK_ASSIGN_OR_RETURN(std::vector<store::ObjectInfo> listed, store.list_all(""));
    for (auto& o : listed) {
      if (o.key == kIndexKey) {
        has_index = true;
        continue;
      }
      objects.emplace_back(o.key, o.size);
    }
  } else {
    AIRLOCK_ASSIGN_OR_RETURN(std::optional<StoreIndex> index, read_store_index(store));
    if (!index) {
      return not_found(
          fmt::format("{} cannot be listed and has no index: airlock cannot tell what to delete", store.display_uri()));
    }
    has_index = true;
    for (const auto& e : index->entries) {
      if (e.type == EntryType::kFile) objects.emplace_back(e.path, e.size);
    }
  }
  for (const auto& [key, size] : objects) {
    summary.keys.push_back(key);
    summary.bytes += size;
  }
  summary.objects = objects.size() + (has_index ? 1 : 0);
  if (has_index) summary.keys.insert(summary.keys.begin(), std::string(kIndexKey));
  if (options.dry_run) return summary;
  if (has_index) {
    AIRLOCK_TRY(store.remove(kIndexKey));
    summary.index_removed = true;
  }
  Progress progress("deleting", 0, objects.size(), options.progress);
  Status status = run_parallel(objects.size(), options.jobs, options.cancel, [&](std::size_t i) -> Status {
    AIRLOCK_TRY(store.remove(objects[i].first));
    progress.add_items(1);
    return ok_status();
  });
  progress.finish();
  AIRLOCK_TRY(status);
  return summary;
}

}  // namespace airlock::sync
