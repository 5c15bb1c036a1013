#include "cache/cache_cleanup.h"

#include <sys/stat.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <system_error>

#include "cache/cache_lock.h"
#include "cache/hub_repo.h"
#include "cache/profile_record.h"
#include "core/units.h"

namespace airlock::cache {
namespace fs = std::filesystem;
namespace {

std::uint64_t tree_bytes(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0;
  if (!S_ISDIR(st.st_mode)) return S_ISREG(st.st_mode) ? static_cast<std::uint64_t>(st.st_size) : 0;
  std::uint64_t total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    struct stat entry {};
    if (::lstat(it->path().c_str(), &entry) == 0 && S_ISREG(entry.st_mode)) total += static_cast<std::uint64_t>(entry.st_size);
  }
  return total;
}

// (snapshot, file) -> blob, for every entry of a repo.
using EntryMap = std::map<std::pair<std::string, std::string>, std::string>;

Result<EntryMap> repo_entries(const CacheLayout& layout, const RepoId& repo) {
  EntryMap entries;
  std::error_code ec;
  fs::path snapshots = layout.snapshots_dir(repo);
  if (!fs::is_directory(snapshots, ec)) return entries;
  for (fs::directory_iterator it(snapshots, ec), end; !ec && it != end; it.increment(ec)) {
    std::string snapshot = it->path().filename().string();
    if (!it->is_directory(ec) || !validate_snapshot_name(snapshot).ok()) continue;
    AIRLOCK_ASSIGN_OR_RETURN(auto files, list_snapshot_files(layout, repo, snapshot));
    for (const std::string& file : files) {
      auto entry = read_snapshot_entry(layout, repo, snapshot, file);
      std::string blob = entry.ok() && *entry && (*entry)->blob ? *(*entry)->blob : std::string();
      entries[{snapshot, file}] = blob;
    }
  }
  return entries;
}

std::vector<std::pair<std::string, std::uint64_t>> repo_blobs(const CacheLayout& layout, const RepoId& repo) {
  std::vector<std::pair<std::string, std::uint64_t>> blobs;
  std::error_code ec;
  fs::path dir = layout.blobs_dir(repo);
  if (!fs::is_directory(dir, ec)) return blobs;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (!validate_blob_name(name).ok()) continue;  // partial downloads and foreign files
    blobs.emplace_back(name, static_cast<std::uint64_t>(st.st_size));
  }
  std::sort(blobs.begin(), blobs.end());
  return blobs;
}

void add_item(CleanupPlan& plan, fs::path path, std::uint64_t bytes, std::string why) {
  plan.bytes += bytes;
  plan.items.push_back({std::move(path), bytes, std::move(why)});
}

// A target of `cache rm` after parsing.
struct RemoveTarget {
  enum Kind { kProfile, kRepo, kRevision } kind = kProfile;
  std::string profile;
  RepoId repo;
  std::string revision;
};

Result<RemoveTarget> parse_target(const CacheLayout& layout, const std::string& text, const RecordList& records) {
  RemoveTarget target;
  if (text.find(':') == std::string::npos) {
    if (validate_profile_id(text).ok()) {
      bool known = std::any_of(records.records.begin(), records.records.end(), [&](const ProfileRecord& r) { return r.id == text; });
      std::error_code ec;
      if (known || fs::exists(layout.profile_record_path(text), ec)) {
        target.profile = text;
        return target;
      }
    }
    return not_found(fmt::format("'{}' is neither a profile in this cache nor a repository (write hf:<org>/<name>, "
                                 "ngc:<org>/[<team>/]<model>, optionally @<revision>); see `airlock cache ls`",
                                 text));
  }
  std::string repo_text = text;
  if (auto at = text.find('@'); at != std::string::npos) {
    repo_text = text.substr(0, at);
    target.revision = text.substr(at + 1);
    AIRLOCK_TRY(validate_snapshot_name(target.revision));
  }
  AIRLOCK_ASSIGN_OR_RETURN(target.repo, parse_repo_display(repo_text));
  std::error_code ec;
  if (!fs::is_directory(layout.repo_dir(target.repo), ec)) {
    return not_found(fmt::format("{} is not in the cache at {}", target.repo.display(), layout.root().string()));
  }
  if (target.revision.empty()) {
    target.kind = RemoveTarget::kRepo;
    return target;
  }
  // A ref name is accepted for the revision it points at.
  AIRLOCK_ASSIGN_OR_RETURN(auto resolved, resolve_revision(layout, target.repo, target.revision));
  if (!fs::is_directory(layout.snapshot_dir(target.repo, target.revision), ec) && resolved) target.revision = *resolved;
  if (!fs::is_directory(layout.snapshot_dir(target.repo, target.revision), ec)) {
    return not_found(fmt::format("{} has no revision '{}' in the cache", target.repo.display(), target.revision));
  }
  target.kind = RemoveTarget::kRevision;
  return target;
}

}  // namespace

Result<CleanupPlan> plan_prune(const CacheLayout& layout, const PruneOptions& options) {
  CleanupPlan plan;
  for (Hub hub : kAllHubs) {
    AIRLOCK_ASSIGN_OR_RETURN(std::vector<RepoId> repos, list_repos(layout, hub));
    for (const RepoId& repo : repos) {
      AIRLOCK_ASSIGN_OR_RETURN(EntryMap entries, repo_entries(layout, repo));
      std::set<std::string> referenced;
      for (const auto& [key, blob] : entries) referenced.insert(blob);
      for (const auto& [blob, size] : repo_blobs(layout, repo)) {
        if (!referenced.contains(blob)) {
          add_item(plan, layout.blob_path(repo, blob), size, fmt::format("{}: no snapshot links to this blob", repo.display()));
        }
      }
      if (options.partial) {
        std::error_code ec;
        for (fs::directory_iterator it(layout.blobs_dir(repo), ec), end; !ec && it != end; it.increment(ec)) {
          std::string name = it->path().filename().string();
          if (name.ends_with(".incomplete") || name.ends_with(".incomplete.parts")) {
            add_item(plan, it->path(), tree_bytes(it->path()), fmt::format("{}: partial download", repo.display()));
          }
        }
      }
    }
    if (options.partial) {
      std::error_code ec;
      fs::path tmp = layout.hub_dir(hub) / "tmp";
      for (fs::directory_iterator it(tmp, ec), end; !ec && it != end; it.increment(ec)) {
        add_item(plan, it->path(), tree_bytes(it->path()), fmt::format("{}/hub/tmp: partial download", hub_name(hub)));
      }
    }
  }
  return plan;
}

Result<CleanupPlan> plan_remove(const CacheLayout& layout, const std::vector<std::string>& texts) {
  AIRLOCK_ASSIGN_OR_RETURN(RecordList records, list_profile_records(layout));
  std::vector<RemoveTarget> targets;
  for (const std::string& text : texts) {
    AIRLOCK_ASSIGN_OR_RETURN(RemoveTarget target, parse_target(layout, text, records));
    targets.push_back(std::move(target));
  }

  CleanupPlan plan;
  std::set<std::string> removed_records;
  std::vector<RepoId> removed_repos;
  std::map<std::string, std::pair<RepoId, std::set<std::string>>> removed_revisions;  // repo display -> snapshots
  for (const RemoveTarget& target : targets) {
    if (target.kind == RemoveTarget::kProfile) {
      removed_records.insert(target.profile);
    } else if (target.kind == RemoveTarget::kRepo) {
      removed_repos.push_back(target.repo);
    } else {
      auto& slot = removed_revisions[target.repo.display()];
      slot.first = target.repo;
      slot.second.insert(target.revision);
    }
  }
  auto repo_removed = [&](const RepoId& repo) {
    return std::find(removed_repos.begin(), removed_repos.end(), repo) != removed_repos.end();
  };
  auto revision_removed = [&](const RepoId& repo, const std::string& snapshot) {
    auto it = removed_revisions.find(repo.display());
    return it != removed_revisions.end() && it->second.second.contains(snapshot);
  };
  // Records that lose files go too.
  for (const ProfileRecord& record : records.records) {
    for (const RecordedFile& file : record.files) {
      if (repo_removed(file.repo) || revision_removed(file.repo, file.snapshot)) removed_records.insert(record.id);
    }
  }
  // Entries still needed by the records that stay.
  std::set<std::tuple<std::string, std::string, std::string>> kept_entries;
  std::map<std::string, RepoId> touched;  // repos whose entries may go
  for (const ProfileRecord& record : records.records) {
    bool removed = removed_records.contains(record.id);
    for (const RecordedFile& file : record.files) {
      if (removed) {
        touched[file.repo.display()] = file.repo;
      } else {
        kept_entries.insert({file.repo.display(), file.snapshot, file.file});
      }
    }
  }
  for (const auto& [key, slot] : removed_revisions) touched[key] = slot.first;
  for (const std::string& id : removed_records) plan.records.push_back(id);

  for (const RepoId& repo : removed_repos) {
    add_item(plan, layout.repo_dir(repo), tree_bytes(layout.repo_dir(repo)), fmt::format("{}: removed", repo.display()));
  }
  for (const auto& [key, repo] : touched) {
    if (repo_removed(repo)) continue;
    AIRLOCK_ASSIGN_OR_RETURN(EntryMap entries, repo_entries(layout, repo));
    // Which of the removed profiles' entries go: those no remaining record uses.
    std::set<std::pair<std::string, std::string>> gone;
    for (const ProfileRecord& record : records.records) {
      if (!removed_records.contains(record.id)) continue;
      for (const RecordedFile& file : record.files) {
        if (!(file.repo == repo)) continue;
        if (kept_entries.contains({repo.display(), file.snapshot, file.file})) continue;
        if (entries.contains({file.snapshot, file.file})) gone.insert({file.snapshot, file.file});
      }
    }
    std::set<std::string> gone_snapshots;
    if (auto it = removed_revisions.find(key); it != removed_revisions.end()) {
      for (const std::string& snapshot : it->second.second) {
        gone_snapshots.insert(snapshot);
        for (const auto& [entry_key, blob] : entries) {
          if (entry_key.first == snapshot) gone.insert(entry_key);
        }
      }
    }
    for (const auto& entry : gone) {
      if (gone_snapshots.contains(entry.first)) continue;
      add_item(plan, layout.snapshot_dir(repo, entry.first) / entry.second, 0,
               fmt::format("{}@{}: only removed profiles used it", repo.display(), entry.first));
    }
    // Snapshots left empty, and refs pointing at them.
    std::map<std::string, std::size_t> remaining_per_snapshot;
    for (const auto& [entry_key, blob] : entries) {
      if (!gone.contains(entry_key)) ++remaining_per_snapshot[entry_key.first];
    }
    for (const auto& [entry_key, blob] : entries) {
      const std::string& snapshot = entry_key.first;
      if (remaining_per_snapshot[snapshot] == 0 && !gone_snapshots.contains(snapshot)) gone_snapshots.insert(snapshot);
    }
    for (const std::string& snapshot : gone_snapshots) {
      add_item(plan, layout.snapshot_dir(repo, snapshot), 0, fmt::format("{}@{}: revision removed", repo.display(), snapshot));
      std::error_code ec;
      fs::path refs = layout.refs_dir(repo);
      if (!fs::is_directory(refs, ec)) continue;
      for (fs::recursive_directory_iterator it(refs, ec), end; !ec && it != end; it.increment(ec)) {
        if (!it->is_regular_file(ec)) continue;
        std::string ref = it->path().lexically_relative(refs).generic_string();
        auto commit = read_ref(layout, repo, ref);
        if (commit.ok() && *commit && **commit == snapshot) {
          add_item(plan, it->path(), 0, fmt::format("{}: ref {} pointed at the removed revision", repo.display(), ref));
        }
      }
    }
    // Blobs nothing links to any more.
    std::set<std::string> still_linked;
    for (const auto& [entry_key, blob] : entries) {
      if (!gone.contains(entry_key) && !gone_snapshots.contains(entry_key.first)) still_linked.insert(blob);
    }
    for (const auto& [blob, size] : repo_blobs(layout, repo)) {
      if (still_linked.contains(blob)) continue;
      add_item(plan, layout.blob_path(repo, blob), size, fmt::format("{}: blob no longer linked", repo.display()));
    }
  }
  return plan;
}

Status apply_cleanup(const CacheLayout& layout, const CleanupPlan& plan) {
  AIRLOCK_ASSIGN_OR_RETURN(auto lock, CacheUseLock::try_exclusive(layout));
  if (!lock) {
    return Error(ErrorCode::kUnavailable,
                 fmt::format("a download-to-cache is running on {}; try again when it has finished", layout.root().string()));
  }
  // Records first: a record promises a complete profile, so it must never outlive its files.
  for (const std::string& id : plan.records) AIRLOCK_TRY(remove_profile_record(layout, id));
  for (const CleanupItem& item : plan.items) {
    std::error_code ec;
    fs::remove_all(item.path, ec);
    if (ec) return io_error(fmt::format("cannot remove {}: {}", item.path.string(), ec.message()));
    // Directories emptied by removing snapshot entries go too, up to the snapshot itself.
    std::string relative = layout.relative(item.path);
    if (relative.find("/snapshots/") == std::string::npos) continue;
    fs::path parent = item.path.parent_path();
    while (!parent.empty() && parent.filename() != "snapshots" && parent.parent_path().filename() != "snapshots" &&
           fs::is_directory(parent, ec) && fs::is_empty(parent, ec)) {
      fs::remove(parent, ec);
      parent = parent.parent_path();
    }
  }
  return ok_status();
}

Json cleanup_plan_to_json(const CacheLayout& layout, const CleanupPlan& plan, bool applied) {
  Json json = Json::object();
  json["applied"] = applied;
  json["bytes"] = plan.bytes;
  json["records"] = plan.records;
  Json items = Json::array();
  for (const CleanupItem& item : plan.items) {
    items.push_back({{"path", layout.relative(item.path)}, {"bytes", item.bytes}, {"why", item.why}});
  }
  json["items"] = std::move(items);
  return json;
}

std::string render_cleanup_plan(const CacheLayout& layout, const CleanupPlan& plan, bool applied) {
  if (plan.empty()) return "Nothing to remove.\n";
  std::string out;
  for (const std::string& id : plan.records) out += fmt::format("{} profile record {}\n", applied ? "removed" : "would remove", id);
  for (const CleanupItem& item : plan.items) {
    out += fmt::format("{} {} ({}): {}\n", applied ? "removed" : "would remove", layout.relative(item.path),
                       format_bytes(item.bytes), item.why);
  }
  out += fmt::format("{} {} in {} items{}\n", applied ? "Freed" : "Would free", format_bytes(plan.bytes), plan.items.size(),
                     applied ? "" : " (dry run: add --yes to remove)");
  return out;
}

}  // namespace airlock::cache
