#include "sync/tree_scan.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <set>
#include <utility>

#include "core/paths.h"

namespace airlock::sync {
namespace fs = std::filesystem;
namespace {

// A cache's locks (`.airlock/cache.lock`, serve's `.airlock/pull.lock`) and the repository-override
// staging folder describe the machine that holds the cache; copying them into a store would hand
// another machine a lock file it never took.
bool is_machine_local_state(std::string_view rel) {
  if (!rel.starts_with(".airlock/")) return false;
  const std::string_view rest = rel.substr(std::string_view(".airlock/").size());
  return rest == "staging" || (rest.find('/') == std::string_view::npos && rest.ends_with(".lock"));
}

struct Walker {
  fs::path root;
  fs::path root_real;
  ScanOptions options;
  ScanResult result;
  std::set<std::pair<dev_t, ino_t>> visited;

  Status walk(const fs::path& dir, const std::string& prefix) {
    struct stat dir_stat {};
    if (::stat(dir.c_str(), &dir_stat) == 0) {
      if (!visited.insert({dir_stat.st_dev, dir_stat.st_ino}).second) {
        return invalid_argument(
            fmt::format("{} leads into a directory already visited (a symlink loop)", dir.string()));
      }
    }
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) return io_error(fmt::format("cannot read directory {}: {}", dir.string(), ec.message()));
    std::vector<fs::path> children;
    for (const auto& entry : it) children.push_back(entry.path());
    for (const fs::path& child : children) {
      const std::string name = child.filename().string();
      const std::string rel = prefix.empty() ? name : prefix + "/" + name;
      if (is_airlock_temp_name(name)) continue;
      if (rel == kIndexKey) {
        result.skipped.push_back(rel + ": the store index is written by push, not copied");
        continue;
      }
      if (is_machine_local_state(rel)) {
        result.skipped.push_back(rel + ": this machine's lock or staging state, not cache content");
        continue;
      }
      struct stat st {};
      if (::lstat(child.c_str(), &st) != 0) {
        if (errno == ENOENT) continue;  // vanished while scanning
        return errno_error("cannot inspect " + child.string(), errno);
      }
      if (S_ISDIR(st.st_mode)) {
        AIRLOCK_TRY(walk(child, rel));
      } else if (S_ISREG(st.st_mode)) {
        add_file(rel, child, static_cast<std::uint64_t>(st.st_size));
      } else if (S_ISLNK(st.st_mode)) {
        AIRLOCK_TRY(add_symlink(rel, child));
      } else {
        result.skipped.push_back(rel + ": not a regular file, directory or symlink");
      }
    }
    return ok_status();
  }

  void add_file(const std::string& rel, const fs::path& source, std::uint64_t size) {
    LocalEntry local;
    local.entry.path = rel;
    local.entry.type = EntryType::kFile;
    local.entry.size = size;
    local.source = source;
    result.entries.push_back(std::move(local));
  }

  Status add_symlink(const std::string& rel, const fs::path& link) {
    std::error_code ec;
    std::string target = fs::read_symlink(link, ec).string();
    if (ec) return io_error(fmt::format("cannot read symlink {}: {}", link.string(), ec.message()));
    if (options.follow_symlinks) {
      struct stat st {};
      if (::stat(link.c_str(), &st) != 0) {
        return invalid_argument(
            fmt::format("symlink {} -> {} is broken; with --follow-symlinks every link must lead "
                        "to a file or directory",
                        rel, target));
      }
      if (S_ISDIR(st.st_mode)) return walk(link, rel);
      if (S_ISREG(st.st_mode)) {
        add_file(rel, link, static_cast<std::uint64_t>(st.st_size));
        return ok_status();
      }
      result.skipped.push_back(rel + ": a symlink to something that is not a file or directory");
      return ok_status();
    }
    if (!target.empty() && target.front() == '/') {
      // An absolute link into the tree itself is kept, as the relative link it stands for.
      fs::path absolute = fs::path(target).lexically_normal();
      fs::path inside = absolute.lexically_relative(root_real);
      if (inside.empty() || *inside.begin() == "..") inside = absolute.lexically_relative(root.lexically_normal());
      if (!inside.empty() && *inside.begin() != ".." && inside != ".") {
        std::string link_dir = fs::path(rel).parent_path().string();
        target = relative_link_target(link_dir, inside.generic_string());
      }
    }
    if (!symlink_target_stays_inside(rel, target)) {
      return invalid_argument(
          fmt::format("symlink {} -> {} points outside {}; push --follow-symlinks uploads what it "
                      "points to instead",
                      rel, target, root.string()));
    }
    LocalEntry local;
    local.entry.path = rel;
    local.entry.type = EntryType::kSymlink;
    local.entry.target = target;
    local.source = link;
    result.entries.push_back(std::move(local));
    return ok_status();
  }
};


}  // namespace

bool is_airlock_temp_name(std::string_view name) {
  return name.find(".airlock-tmp.") != std::string_view::npos || name.ends_with(".airlock-partial") ||
         name.starts_with(".airlock-unpack-");
}

fs::path partial_path_for(const fs::path& path) {
  return path.parent_path() / ("." + path.filename().string() + ".airlock-partial");
}

Result<ScanResult> scan_tree(const fs::path& root, const ScanOptions& options) {
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return not_found(fmt::format("{} is not a directory", root.string()));
  }
  Walker walker;
  walker.root = root;
  std::error_code ec;
  walker.root_real = fs::canonical(root, ec);
  if (ec) walker.root_real = fs::absolute(root).lexically_normal();
  walker.options = options;
  AIRLOCK_TRY(walker.walk(root, ""));
  std::vector<IndexEntry> entries;
  entries.reserve(walker.result.entries.size());
  for (const auto& local : walker.result.entries) entries.push_back(local.entry);
  Status valid = validate_entries(entries, root.string());
  if (!valid.ok()) {
    return Error(valid.error().code(),
                 valid.error().message() + " (push --follow-symlinks uploads what such links point to instead)");
  }
  std::sort(walker.result.entries.begin(), walker.result.entries.end(),
            [](const LocalEntry& a, const LocalEntry& b) { return a.entry.path < b.entry.path; });
  return std::move(walker.result);
}

}  // namespace airlock::sync
