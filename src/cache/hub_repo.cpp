#include "cache/hub_repo.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "core/file_io.h"
#include "core/hex.h"
#include "core/paths.h"

namespace airlock::cache {
namespace fs = std::filesystem;
namespace {

std::string parent_of(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash));
}

std::string trim_right(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '\t')) {
    text.pop_back();
  }
  return text;
}

}  // namespace

Status install_blob(const CacheLayout& layout, const RepoId& repo, const fs::path& verified_file, std::string_view blob) {
  AIRLOCK_TRY(validate_blob_name(blob));
  fs::path dir = layout.blobs_dir(repo);
  AIRLOCK_TRY(make_directories(dir));
  fs::path destination = dir / std::string(blob);
  struct stat st {};
  if (::lstat(destination.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    // Content-named: what is there already is the same bytes.
    std::error_code ec;
    fs::remove(verified_file, ec);
    return ok_status();
  }
  if (::rename(verified_file.c_str(), destination.c_str()) != 0) {
    return errno_error(fmt::format("cannot move {} to {}", verified_file.string(), destination.string()), errno);
  }
  return ok_status();
}

Status link_snapshot_file(const CacheLayout& layout, const RepoId& repo, std::string_view snapshot, std::string_view path,
                          std::string_view blob) {
  AIRLOCK_TRY(validate_blob_name(blob));
  AIRLOCK_ASSIGN_OR_RETURN(fs::path entry, layout.snapshot_file(repo, snapshot, path));
  std::string from_dir = "snapshots/" + std::string(snapshot);
  if (std::string parent = parent_of(path); !parent.empty()) from_dir += "/" + parent;
  std::string target = relative_link_target(from_dir, "blobs/" + std::string(blob));

  std::error_code ec;
  if (fs::is_symlink(entry, ec)) {
    if (fs::read_symlink(entry, ec).string() == target && !ec) return ok_status();
  }
  AIRLOCK_TRY(make_directories(entry.parent_path()));
  fs::path temp = temp_sibling(entry);
  if (::symlink(target.c_str(), temp.c_str()) != 0) {
    return errno_error(fmt::format("cannot create symlink {}", temp.string()), errno);
  }
  if (::rename(temp.c_str(), entry.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return errno_error(fmt::format("cannot put symlink {} in place", entry.string()), err);
  }
  return ok_status();
}

Status write_ref(const CacheLayout& layout, const RepoId& repo, std::string_view ref, std::string_view commit) {
  AIRLOCK_TRY(validate_ref_name(ref));
  if (commit.empty() || commit.find_first_of("\r\n") != std::string_view::npos) {
    return invalid_argument(fmt::format("ref {} of {}: commit '{}' is empty or has a line break", ref, repo.display(), commit));
  }
  AIRLOCK_ASSIGN_OR_RETURN(fs::path path, safe_join(layout.root(), layout.relative(layout.ref_path(repo, ref)), "ref"));
  return write_file_atomic(path, commit);
}

Result<std::optional<std::string>> read_ref(const CacheLayout& layout, const RepoId& repo, std::string_view ref) {
  AIRLOCK_TRY(validate_ref_name(ref));
  fs::path path = layout.ref_path(repo, ref);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::optional<std::string>();
  AIRLOCK_ASSIGN_OR_RETURN(std::string content, read_file_limited(path, 4096));
  content = trim_right(std::move(content));
  if (content.empty()) return std::optional<std::string>();
  return std::optional<std::string>(std::move(content));
}

Result<std::optional<SnapshotEntry>> read_snapshot_entry(const CacheLayout& layout, const RepoId& repo,
                                                         std::string_view snapshot, std::string_view path) {
  AIRLOCK_ASSIGN_OR_RETURN(fs::path entry, layout.snapshot_file(repo, snapshot, path));
  struct stat st {};
  if (::lstat(entry.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<SnapshotEntry>();
    return errno_error(fmt::format("cannot inspect {}", entry.string()), errno);
  }
  SnapshotEntry out;
  out.path = entry;
  if (S_ISREG(st.st_mode)) {
    out.target = entry;
    out.present = true;
    out.size = static_cast<std::uint64_t>(st.st_size);
    return std::optional<SnapshotEntry>(std::move(out));
  }
  if (!S_ISLNK(st.st_mode)) {
    return invalid_argument(fmt::format("{} is neither a file nor a symlink", entry.string()));
  }
  std::error_code ec;
  fs::path target = fs::read_symlink(entry, ec);
  if (ec) return io_error(fmt::format("cannot read symlink {}: {}", entry.string(), ec.message()));
  // The link must land in this repo's blobs/: lexically, so that nothing is followed on the way.
  fs::path blobs = layout.blobs_dir(repo);
  fs::path resolved;
  if (target.is_absolute()) {
    resolved = target.lexically_normal();
  } else {
    std::string from = "snapshots/" + std::string(snapshot);
    if (std::string parent = parent_of(path); !parent.empty()) from += "/" + parent;
    auto normalized = normalize_relative(from + "/" + target.string());
    if (!normalized.ok()) {
      return invalid_argument(fmt::format("snapshot entry {} links outside its repository ({})", entry.string(), target.string()));
    }
    resolved = layout.repo_dir(repo) / *normalized;
  }
  if (resolved.parent_path() != blobs || !validate_blob_name(resolved.filename().string()).ok()) {
    return invalid_argument(fmt::format("snapshot entry {} links to {}, not to a blob of {}", entry.string(), target.string(),
                                        repo.display()));
  }
  out.blob = resolved.filename().string();
  out.target = resolved;
  struct stat blob_stat {};
  if (::stat(resolved.c_str(), &blob_stat) == 0 && S_ISREG(blob_stat.st_mode)) {
    out.present = true;
    out.size = static_cast<std::uint64_t>(blob_stat.st_size);
  }
  return std::optional<SnapshotEntry>(std::move(out));
}

Result<std::vector<std::string>> list_snapshot_files(const CacheLayout& layout, const RepoId& repo, std::string_view snapshot) {
  AIRLOCK_TRY(validate_snapshot_name(snapshot));
  fs::path dir = layout.snapshot_dir(repo, snapshot);
  std::vector<std::string> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return files;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end; !ec && it != end; it.increment(ec)) {
    auto status = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_symlink(status) || fs::is_regular_file(status)) {
      files.push_back(it->path().lexically_relative(dir).generic_string());
    }
  }
  if (ec) return io_error(fmt::format("cannot list {}: {}", dir.string(), ec.message()));
  std::sort(files.begin(), files.end());
  return files;
}

Result<std::optional<std::string>> resolve_revision(const CacheLayout& layout, const RepoId& repo, std::string_view revision) {
  if (is_lower_hex(revision, 40)) return std::optional<std::string>(std::string(revision));
  if (!validate_ref_name(revision).ok()) return std::optional<std::string>();
  AIRLOCK_ASSIGN_OR_RETURN(auto commit, read_ref(layout, repo, revision));
  if (commit && !validate_snapshot_name(*commit).ok()) {
    return invalid_argument(fmt::format("ref {} of {} holds '{}', which is not a revision", revision, repo.display(), *commit));
  }
  return commit;
}

Status write_no_exist_marker(const CacheLayout& layout, const RepoId& repo, std::string_view commit, std::string_view path) {
  AIRLOCK_TRY(validate_snapshot_name(commit));
  AIRLOCK_TRY(validate_relative_path(path, "file path"));
  std::string relative = layout.relative(layout.repo_dir(repo)) + "/.no_exist/" + std::string(commit) + "/" + std::string(path);
  AIRLOCK_ASSIGN_OR_RETURN(fs::path marker, safe_join(layout.root(), relative, "cache path"));
  return write_file_atomic(marker, "");
}

}  // namespace airlock::cache
