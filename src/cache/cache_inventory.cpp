#include "cache/cache_inventory.h"

#include <sys/stat.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <system_error>

#include "cache/hub_repo.h"
#include "core/units.h"

namespace airlock::cache {
namespace fs = std::filesystem;
namespace {

struct BlobStat {
  std::uint64_t size = 0;
  std::uint64_t disk = 0;
  std::time_t atime = 0;
  std::time_t mtime = 0;
};

std::string age(std::time_t then, std::time_t now) {
  if (then == 0) return "-";
  double seconds = std::difftime(now, then);
  if (seconds < 0) seconds = 0;
  if (seconds < 120) return fmt::format("{}s ago", static_cast<long>(seconds));
  if (seconds < 7200) return fmt::format("{}m ago", static_cast<long>(seconds / 60));
  if (seconds < 172800) return fmt::format("{}h ago", static_cast<long>(seconds / 3600));
  return fmt::format("{}d ago", static_cast<long>(seconds / 86400));
}

std::string iso_time(std::time_t t) {
  if (t == 0) return "";
  std::tm tm {};
  ::gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

// Partial downloads of `repo` staged outside blobs/ (NGC and files hubs).
std::uint64_t staged_partial_bytes(const CacheLayout& layout, const RepoId& repo) {
  std::uint64_t total = 0;
  fs::path tmp = layout.hub_dir(repo.hub) / "tmp";
  std::string prefix = repo_folder_name(repo) + "--";
  std::error_code ec;
  if (!fs::is_directory(tmp, ec)) return 0;
  for (fs::directory_iterator it(tmp, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.starts_with(prefix) && it->is_regular_file(ec)) {
      struct stat st {};
      if (::stat(it->path().c_str(), &st) == 0) total += static_cast<std::uint64_t>(st.st_blocks) * 512;
    }
  }
  return total;
}

Result<RepoInfo> scan_repo(const CacheLayout& layout, const RepoId& repo) {
  RepoInfo info;
  info.repo = repo;
  std::error_code ec;

  std::map<std::string, BlobStat> blobs;
  fs::path blobs_dir = layout.blobs_dir(repo);
  if (fs::is_directory(blobs_dir, ec)) {
    for (fs::directory_iterator it(blobs_dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::string name = it->path().filename().string();
      struct stat st {};
      if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      if (name.ends_with(".incomplete") || name.ends_with(".parts") || name.starts_with(".")) {
        info.partial_bytes += static_cast<std::uint64_t>(st.st_blocks) * 512;
        continue;
      }
      blobs[name] = BlobStat{static_cast<std::uint64_t>(st.st_size), static_cast<std::uint64_t>(st.st_blocks) * 512,
                             st.st_atime, st.st_mtime};
    }
  }
  info.partial_bytes += staged_partial_bytes(layout, repo);
  for (const auto& [name, stat] : blobs) {
    ++info.blobs;
    info.size += stat.size;
    info.disk_bytes += stat.disk;
    info.last_accessed = std::max(info.last_accessed, stat.atime);
    info.last_modified = std::max(info.last_modified, stat.mtime);
  }

  // refs: path -> content.
  std::map<std::string, std::vector<std::string>> refs_by_snapshot;
  fs::path refs_dir = layout.refs_dir(repo);
  if (fs::is_directory(refs_dir, ec)) {
    for (fs::recursive_directory_iterator it(refs_dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      std::string ref = it->path().lexically_relative(refs_dir).generic_string();
      auto commit = read_ref(layout, repo, ref);
      if (commit.ok() && *commit) refs_by_snapshot[**commit].push_back(ref);
    }
  } else if (fs::exists(refs_dir, ec)) {
    info.warnings.push_back("refs is not a directory");
  }

  std::set<std::string> referenced;
  fs::path snapshots = layout.snapshots_dir(repo);
  if (!fs::is_directory(snapshots, ec)) {
    info.warnings.push_back("no snapshots directory");
  } else {
    std::vector<std::string> names;
    for (fs::directory_iterator it(snapshots, ec), end; !ec && it != end; it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (!it->is_directory(ec) || it->is_symlink(ec)) {
        info.warnings.push_back(fmt::format("snapshots/{} is not a directory", name));
        continue;
      }
      names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      if (!validate_snapshot_name(name).ok()) continue;
      RevisionInfo revision;
      revision.snapshot = name;
      if (auto it = refs_by_snapshot.find(name); it != refs_by_snapshot.end()) {
        revision.refs = it->second;
        std::sort(revision.refs.begin(), revision.refs.end());
        refs_by_snapshot.erase(it);
      }
      AIRLOCK_ASSIGN_OR_RETURN(auto files, list_snapshot_files(layout, repo, name));
      for (const std::string& file : files) {
        auto entry = read_snapshot_entry(layout, repo, name, file);
        if (!entry.ok() || !*entry) {
          info.warnings.push_back(fmt::format("snapshots/{}/{}: {}", name, file,
                                              entry.ok() ? "vanished" : entry.error().message()));
          continue;
        }
        ++revision.files;
        if ((*entry)->blob) referenced.insert(*(*entry)->blob);
        if ((*entry)->present) {
          revision.size += (*entry)->size;
        } else {
          ++revision.missing;
          info.warnings.push_back(fmt::format("snapshots/{}/{} links to a missing blob", name, file));
        }
      }
      info.revisions.push_back(std::move(revision));
    }
  }
  for (const auto& [snapshot, refs] : refs_by_snapshot) {
    for (const auto& ref : refs) info.warnings.push_back(fmt::format("ref {} points to missing revision {}", ref, snapshot));
  }
  for (const auto& [name, stat] : blobs) {
    if (!referenced.contains(name)) {
      ++info.unreferenced_blobs;
      info.unreferenced_bytes += stat.size;
    }
  }
  return info;
}

}  // namespace

Result<CacheInventory> scan_cache(const CacheLayout& layout) {
  CacheInventory inventory;
  inventory.root = layout.root().string();
  AIRLOCK_ASSIGN_OR_RETURN(RecordList records, list_profile_records(layout));
  inventory.profiles = std::move(records.records);
  inventory.problems = std::move(records.problems);
  for (Hub hub : kAllHubs) {
    AIRLOCK_ASSIGN_OR_RETURN(std::vector<RepoId> repos, list_repos(layout, hub));
    for (const RepoId& repo : repos) {
      AIRLOCK_ASSIGN_OR_RETURN(RepoInfo info, scan_repo(layout, repo));
      for (const ProfileRecord& record : inventory.profiles) {
        bool uses = std::any_of(record.files.begin(), record.files.end(), [&](const RecordedFile& f) { return f.repo == repo; });
        if (uses) info.profiles.push_back(record.id);
      }
      inventory.total_size += info.size;
      inventory.total_disk_bytes += info.disk_bytes;
      inventory.total_partial_bytes += info.partial_bytes;
      inventory.repos.push_back(std::move(info));
    }
  }
  return inventory;
}

Json inventory_to_json(const CacheInventory& inventory) {
  Json json = Json::object();
  json["root"] = inventory.root;
  json["size"] = inventory.total_size;
  json["disk_bytes"] = inventory.total_disk_bytes;
  json["partial_bytes"] = inventory.total_partial_bytes;
  Json repos = Json::array();
  for (const RepoInfo& info : inventory.repos) {
    Json repo = Json::object();
    repo["id"] = info.repo.display();
    repo["hub"] = hub_name(info.repo.hub);
    repo["name"] = info.repo.name;
    repo["size"] = info.size;
    repo["disk_bytes"] = info.disk_bytes;
    repo["blobs"] = info.blobs;
    repo["partial_bytes"] = info.partial_bytes;
    repo["unreferenced_blobs"] = info.unreferenced_blobs;
    repo["unreferenced_bytes"] = info.unreferenced_bytes;
    repo["last_accessed"] = iso_time(info.last_accessed);
    repo["last_modified"] = iso_time(info.last_modified);
    Json revisions = Json::array();
    for (const RevisionInfo& r : info.revisions) {
      revisions.push_back({{"snapshot", r.snapshot}, {"refs", r.refs}, {"files", r.files}, {"size", r.size}, {"missing", r.missing}});
    }
    repo["revisions"] = std::move(revisions);
    repo["profiles"] = info.profiles;
    repo["warnings"] = info.warnings;
    repos.push_back(std::move(repo));
  }
  json["repos"] = std::move(repos);
  Json profiles = Json::array();
  for (const ProfileRecord& record : inventory.profiles) {
    profiles.push_back({{"id", record.id},
                        {"description", record.description},
                        {"files", record.files.size()},
                        {"size", record.total_size()},
                        {"created_at", record.created_at}});
  }
  json["profiles"] = std::move(profiles);
  json["problems"] = inventory.problems;
  return json;
}

std::string render_inventory(const CacheInventory& inventory, bool revisions) {
  std::time_t now = std::time(nullptr);
  std::string out = fmt::format("Cache: {}\n", inventory.root);
  if (inventory.repos.empty()) {
    out += "No models in this cache.\n";
  } else {
    std::size_t width = 4;
    for (const RepoInfo& info : inventory.repos) width = std::max(width, info.repo.display().size());
    out += fmt::format("{:<{}}  {:>10}  {:>9}  {:>13}  {:>13}  {}\n", "REPO", width, "SIZE", "REVISIONS", "LAST_ACCESSED",
                       "LAST_MODIFIED", "REFS");
    for (const RepoInfo& info : inventory.repos) {
      std::set<std::string> refs;
      for (const auto& r : info.revisions) refs.insert(r.refs.begin(), r.refs.end());
      std::string ref_list;
      for (const auto& ref : refs) ref_list += (ref_list.empty() ? "" : ",") + ref;
      out += fmt::format("{:<{}}  {:>10}  {:>9}  {:>13}  {:>13}  {}\n", info.repo.display(), width, format_bytes(info.size),
                         info.revisions.size(), age(info.last_accessed, now), age(info.last_modified, now), ref_list);
      if (revisions) {
        for (const auto& r : info.revisions) {
          std::string ref_names;
          for (const auto& ref : r.refs) ref_names += (ref_names.empty() ? "" : ",") + ref;
          out += fmt::format("  @{}  {} files, {}{}{}\n", r.snapshot, r.files, format_bytes(r.size),
                             ref_names.empty() ? "" : "  refs: " + ref_names,
                             r.missing == 0 ? "" : fmt::format("  ({} missing)", r.missing));
        }
      }
      for (const auto& warning : info.warnings) out += fmt::format("  warning: {}\n", warning);
    }
  }
  if (!inventory.profiles.empty()) {
    out += "\nPROFILE                                                           FILES        SIZE  DESCRIPTION\n";
    for (const ProfileRecord& record : inventory.profiles) {
      out += fmt::format("{:<64}  {:>5}  {:>10}  {}\n", record.id, record.files.size(), format_bytes(record.total_size()),
                         record.description);
    }
  }
  for (const auto& problem : inventory.problems) out += fmt::format("warning: {}\n", problem);
  out += fmt::format("\n{} repositories, {} profiles, {} on disk{}\n", inventory.repos.size(), inventory.profiles.size(),
                     format_bytes(inventory.total_disk_bytes),
                     inventory.total_partial_bytes == 0
                         ? ""
                         : fmt::format(" (+{} in partial downloads)", format_bytes(inventory.total_partial_bytes)));
  return out;
}

std::string render_disk_usage(const CacheInventory& inventory) {
  std::string out;
  std::map<Hub, std::uint64_t> per_hub;
  std::size_t width = 4;
  for (const RepoInfo& info : inventory.repos) width = std::max(width, info.repo.display().size());
  out += fmt::format("{:>10}  {:>10}  {:>10}  {}\n", "DISK", "PARTIAL", "UNUSED", "REPO");
  for (const RepoInfo& info : inventory.repos) {
    per_hub[info.repo.hub] += info.disk_bytes + info.partial_bytes;
    out += fmt::format("{:>10}  {:>10}  {:>10}  {}\n", format_bytes(info.disk_bytes), format_bytes(info.partial_bytes),
                       format_bytes(info.unreferenced_bytes), info.repo.display());
  }
  for (const auto& [hub, bytes] : per_hub) {
    out += fmt::format("{:>10}  {}/hub\n", format_bytes(bytes), hub_name(hub));
  }
  out += fmt::format("{:>10}  total ({})\n", format_bytes(inventory.total_disk_bytes + inventory.total_partial_bytes),
                     inventory.root);
  return out;
}

}  // namespace airlock::cache
