#include "cache/hub_layout.h"

#include <fmt/format.h>

#include <algorithm>
#include <system_error>

#include "core/file_io.h"
#include "core/paths.h"

namespace airlock::cache {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kFolderPrefix = "models--";
constexpr std::string_view kSeparator = "--";

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

std::vector<std::string_view> split(std::string_view text, std::string_view separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t at = text.find(separator, start);
    if (at == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, at - start));
    start = at + separator.size();
  }
}

std::string printable(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string_view hub_name(Hub hub) {
  switch (hub) {
    case Hub::kNgc:
      return "ngc";
    case Hub::kHuggingFace:
      return "huggingface";
    case Hub::kFiles:
      return "files";
  }
  return "unknown";
}

Result<Hub> parse_hub_name(std::string_view name) {
  if (name == "ngc") return Hub::kNgc;
  if (name == "huggingface" || name == "hf") return Hub::kHuggingFace;
  if (name == "files") return Hub::kFiles;
  return invalid_argument(fmt::format("unknown hub '{}': use ngc, hf (huggingface) or files", printable(name)));
}

std::string RepoId::display() const {
  return fmt::format("{}:{}", hub == Hub::kHuggingFace ? "hf" : hub_name(hub), name);
}

Result<RepoId> parse_repo_display(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    return invalid_argument(fmt::format("'{}' names no hub: write hf:<org>/<name>, ngc:<org>/[<team>/]<model> or files:<host>",
                                        printable(text)));
  }
  AIRLOCK_ASSIGN_OR_RETURN(Hub hub, parse_hub_name(text.substr(0, colon)));
  RepoId repo{hub, std::string(text.substr(colon + 1))};
  AIRLOCK_TRY(validate_repo_name(hub, repo.name));
  return repo;
}

Status validate_repo_name(Hub hub, std::string_view name) {
  auto reject = [&](std::string_view why) {
    return invalid_argument(fmt::format("{} repository name '{}' {}", hub_name(hub), printable(name), why));
  };
  if (name.empty()) return reject("is empty");
  if (name.size() > 300) return reject("is longer than 300 characters");
  auto parts = split(name, "/");
  if (parts.size() > 3) return reject("has more than three '/'-separated parts");
  for (std::string_view part : parts) {
    if (part.empty()) return reject("has an empty part");
    if (part == "." || part == "..") return reject("has a '.' or '..' part");
    if (!std::all_of(part.begin(), part.end(), is_name_char)) {
      return reject("may only contain letters, digits, '-', '_' and '.'");
    }
    if (part.find(kSeparator) != std::string_view::npos) return reject("contains '--', which folder names use as separator");
    if (part.front() == '-' || part.back() == '-') return reject("has a part that starts or ends with '-'");
  }
  return ok_status();
}

std::string repo_folder_name(const RepoId& repo) {
  std::string out(kFolderPrefix);
  for (char c : repo.name) {
    if (c == '/') {
      out += kSeparator;
    } else {
      out += c;
    }
  }
  return out;
}

Result<RepoId> parse_repo_folder_name(Hub hub, std::string_view folder) {
  if (!folder.starts_with(kFolderPrefix)) {
    return invalid_argument(fmt::format("'{}' is not a model repository folder (models--...)", printable(folder)));
  }
  auto parts = split(folder.substr(kFolderPrefix.size()), kSeparator);
  std::string name;
  for (std::string_view part : parts) {
    if (!name.empty()) name += '/';
    name += part;
  }
  RepoId repo{hub, name};
  AIRLOCK_TRY(validate_repo_name(hub, repo.name));
  return repo;
}

Status validate_blob_name(std::string_view name) {
  if (name.empty() || name.size() > 128) {
    return invalid_argument(fmt::format("blob name '{}' must be 1 to 128 characters", printable(name)));
  }
  bool ok = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
  if (!ok) return invalid_argument(fmt::format("blob name '{}' may only contain letters, digits, '-' and '_'", printable(name)));
  return ok_status();
}

Status validate_snapshot_name(std::string_view name) {
  AIRLOCK_TRY(validate_relative_path(name, "revision"));
  if (name.find('/') != std::string_view::npos) {
    return invalid_argument(fmt::format("revision '{}' must be a single path component", printable(name)));
  }
  return ok_status();
}

Status validate_ref_name(std::string_view name) { return validate_relative_path(name, "ref"); }

Status validate_profile_id(std::string_view id) {
  bool ok = !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
  if (!ok) {
    return invalid_argument(
        fmt::format("profile id '{}' must be 1 to 128 letters, digits, '-' or '_'", printable(id)));
  }
  return ok_status();
}

CacheLayout::CacheLayout(fs::path root) : root_(std::move(root)) {}

fs::path CacheLayout::hub_dir(Hub hub) const { return root_ / std::string(hub_name(hub)) / "hub"; }
fs::path CacheLayout::repo_dir(const RepoId& repo) const { return hub_dir(repo.hub) / repo_folder_name(repo); }
fs::path CacheLayout::blobs_dir(const RepoId& repo) const { return repo_dir(repo) / "blobs"; }
fs::path CacheLayout::blob_path(const RepoId& repo, std::string_view blob) const {
  return blobs_dir(repo) / std::string(blob);
}
fs::path CacheLayout::refs_dir(const RepoId& repo) const { return repo_dir(repo) / "refs"; }
fs::path CacheLayout::ref_path(const RepoId& repo, std::string_view ref) const { return refs_dir(repo) / std::string(ref); }
fs::path CacheLayout::snapshots_dir(const RepoId& repo) const { return repo_dir(repo) / "snapshots"; }
fs::path CacheLayout::snapshot_dir(const RepoId& repo, std::string_view snapshot) const {
  return snapshots_dir(repo) / std::string(snapshot);
}

Result<fs::path> CacheLayout::snapshot_file(const RepoId& repo, std::string_view snapshot, std::string_view path) const {
  AIRLOCK_TRY(validate_snapshot_name(snapshot));
  AIRLOCK_TRY(validate_relative_path(path, "file path"));
  std::string relative = std::string(hub_name(repo.hub)) + "/hub/" + repo_folder_name(repo) + "/snapshots/" + std::string(snapshot) +
             "/" + std::string(path);
  return safe_join(root_, relative, "cache path");
}

fs::path CacheLayout::lock_path(const RepoId& repo, std::string_view key) const {
  return hub_dir(repo.hub) / ".locks" / repo_folder_name(repo) / (std::string(key) + ".lock");
}

fs::path CacheLayout::incomplete_path(const RepoId& repo, std::string_view key) const {
  if (repo.hub == Hub::kHuggingFace) return blobs_dir(repo) / (std::string(key) + ".incomplete");
  return hub_dir(repo.hub) / "tmp" / (repo_folder_name(repo) + "--" + std::string(key) + ".incomplete");
}

fs::path CacheLayout::airlock_dir() const { return root_ / ".airlock"; }
fs::path CacheLayout::profiles_dir() const { return airlock_dir() / "profiles"; }
fs::path CacheLayout::profile_record_path(std::string_view id) const {
  return profiles_dir() / (std::string(id) + ".json");
}

std::string CacheLayout::relative(const fs::path& path) const {
  return path.lexically_relative(root_).generic_string();
}

Status ensure_hub_dir(const CacheLayout& layout, Hub hub) {
  fs::path dir = layout.hub_dir(hub);
  AIRLOCK_TRY(make_directories(dir));
  if (hub == Hub::kHuggingFace) {
    fs::path tag = dir / "CACHEDIR.TAG";
    std::error_code ec;
    if (!fs::exists(tag, ec)) {
      // The standard cache-directory tag (bford.info/cachedir): backup tools skip the tree.
      AIRLOCK_TRY(write_file_atomic(tag,
                                    "Signature: 8a477f597d28d172789f06886806bc55\n"
                                    "# This file is a cache directory tag created by airlock (Hugging Face hub layout).\n"));
    }
  }
  return ok_status();
}

Result<std::vector<RepoId>> list_repos(const CacheLayout& layout, Hub hub) {
  std::vector<RepoId> repos;
  fs::path dir = layout.hub_dir(hub);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return repos;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec)) continue;
    auto repo = parse_repo_folder_name(hub, it->path().filename().string());
    if (repo.ok()) repos.push_back(std::move(repo).value());
  }
  if (ec) return io_error(fmt::format("cannot list {}: {}", dir.string(), ec.message()));
  std::sort(repos.begin(), repos.end(), [](const RepoId& a, const RepoId& b) { return a.name < b.name; });
  return repos;
}

}  // namespace airlock::cache
