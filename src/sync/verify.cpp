#include "sync/verify.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <chrono>
#include <mutex>
#include <set>
#include <unordered_map>

#include "core/paths.h"
#include "core/units.h"
#include "sync/tree_scan.h"

namespace airlock::sync {
namespace fs = std::filesystem;

Json VerifyReport::to_json() const {
  Json json;
  json["store"] = store;
  json["checked"] = checked;
  json["ok"] = ok();
  json["files"] = files;
  json["symlinks"] = symlinks;
  json["bytes"] = bytes;
  json["hashes_checked"] = hashes_checked;
  Json list = Json::array();
  for (const auto& p : problems) list.push_back({{"path", p.path}, {"problem", p.problem}});
  json["problems"] = list;
  if (!extra.empty()) json["extra"] = extra;
  json["seconds"] = seconds;
  return json;
}

std::string VerifyReport::to_text() const {
  std::string out;
  for (const auto& p : problems) out += fmt::format("FAILED {}: {}\n", p.path, p.problem);
  for (const auto& e : extra) out += fmt::format("extra {} (not in the index)\n", e);
  if (ok()) {
    out += fmt::format("OK: {} matches the index of {}: {} files ({}), {} symlinks, {}\n", checked, store, files,
                       format_bytes(bytes), symlinks, hashes_checked ? "sha256 checked" : "sizes checked");
  } else {
    out += fmt::format("{} problems in {} ({} files, {} symlinks in the index)\n", problems.size(), checked, files,
                       symlinks);
  }
  return out;
}

Result<VerifyReport> verify(store::Store& store, const VerifyOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  VerifyReport report;
  report.store = store.display_uri();
  report.checked = options.against ? options.against->string() : store.display_uri();
  report.hashes_checked = options.mode == VerifyMode::kFull;
  AIRLOCK_ASSIGN_OR_RETURN(std::optional<StoreIndex> index, read_store_index(store));
  if (!index) {
    return not_found(
        fmt::format("{} has no index ({}): nothing to verify against (an unfinished push, or a tree not "
                    "pushed by airlock)",
                    store.display_uri(), kIndexKey));
  }
  report.files = index->file_count();
  report.symlinks = index->symlink_count();
  report.bytes = index->file_bytes();
  std::mutex mutex;
  auto problem = [&](const std::string& path, std::string what) {
    std::lock_guard lock(mutex);
    report.problems.push_back({path, std::move(what)});
  };
  std::vector<const IndexEntry*> files;
  for (const auto& e : index->entries) {
    if (e.type == EntryType::kFile) files.push_back(&e);
  }
  Progress progress("verifying", report.hashes_checked ? report.bytes : 0, files.size(), options.progress);

  if (options.against) {
    const fs::path root = *options.against;
    for (const auto& e : index->entries) {
      if (e.type != EntryType::kSymlink) continue;
      AIRLOCK_ASSIGN_OR_RETURN(fs::path path, safe_join(root, e.path, "index entry"));
      std::error_code ec;
      if (!fs::is_symlink(fs::symlink_status(path, ec))) {
        problem(e.path, "missing symlink (should point to " + e.target + ")");
      } else if (fs::read_symlink(path, ec).string() != e.target) {
        problem(e.path,
                fmt::format("symlink points to {}, the index says {}", fs::read_symlink(path, ec).string(), e.target));
      }
    }
    Status status = run_parallel(files.size(), options.jobs, options.cancel, [&](std::size_t n) -> Status {
      const IndexEntry& e = *files[n];
      AIRLOCK_ASSIGN_OR_RETURN(fs::path path, safe_join(root, e.path, "index entry"));
      struct stat st {};
      if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        problem(e.path, "missing");
      } else if (static_cast<std::uint64_t>(st.st_size) != e.size) {
        problem(e.path, fmt::format("size {}, the index says {}", st.st_size, e.size));
      } else if (report.hashes_checked) {
        AIRLOCK_ASSIGN_OR_RETURN(std::string digest, hash_local_file(path, e.size, &progress, options.cancel));
        if (digest != e.sha256) problem(e.path, fmt::format("sha256 {}, the index says {}", digest, e.sha256));
      }
      progress.add_items(1);
      return ok_status();
    });
    progress.finish();
    AIRLOCK_TRY(status);
    // What the local tree has beyond the index.
    ScanOptions scan_options;
    auto scan = scan_tree(root, scan_options);
    if (scan.ok()) {
      std::set<std::string> known;
      for (const auto& e : index->entries) known.insert(e.path);
      for (const auto& local : scan->entries) {
        if (!known.count(local.entry.path)) report.extra.push_back(local.entry.path);
      }
    }
  } else {
    std::unordered_map<std::string, std::uint64_t> sizes;
    if (store.capabilities().list) {
      AIRLOCK_ASSIGN_OR_RETURN(std::vector<store::ObjectInfo> objects, store.list_all(""));
      for (const auto& o : objects) sizes.emplace(o.key, o.size);
    }
    Status status = run_parallel(files.size(), options.jobs, options.cancel, [&](std::size_t n) -> Status {
      const IndexEntry& e = *files[n];
      std::optional<std::uint64_t> size;
      if (store.capabilities().list) {
        if (auto it = sizes.find(e.path); it != sizes.end()) size = it->second;
      } else {
        AIRLOCK_ASSIGN_OR_RETURN(std::optional<store::ObjectInfo> info, store.stat(e.path));
        if (info) size = info->size;
      }
      if (!size) {
        problem(e.path, "missing from the store");
      } else if (*size != e.size) {
        problem(e.path, fmt::format("size {} in the store, the index says {}", *size, e.size));
      } else if (report.hashes_checked) {
        auto digest = hash_store_object(store, e.path, e.size, options, &progress);
        if (!digest.ok()) {
          if (digest.error().code() != ErrorCode::kCorrupt && digest.error().code() != ErrorCode::kNotFound) {
            return digest.error();
          }
          problem(e.path, digest.error().message());
        } else if (*digest != e.sha256) {
          problem(e.path, fmt::format("sha256 {} in the store, the index says {}", *digest, e.sha256));
        }
      }
      progress.add_items(1);
      return ok_status();
    });
    progress.finish();
    AIRLOCK_TRY(status);
  }
  std::sort(report.problems.begin(), report.problems.end(),
            [](const VerifyProblem& a, const VerifyProblem& b) { return a.path < b.path; });
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace airlock::sync
