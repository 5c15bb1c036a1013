#include "sync/repository_override.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <system_error>

#include "core/log.h"
#include "core/paths.h"
#include "core/uri.h"
#include "sync/index.h"
#include "sync/transfer.h"
#include "sync/tree_scan.h"

namespace airlock::sync {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kNgcScheme = "ngc://";
// A staged file is named by its key: one path component.
constexpr std::size_t kMaxKeyLength = 255;

Status link_into(const fs::path& staging, const std::string& key, const fs::path& local) {
  std::error_code ec;
  const fs::path absolute = fs::absolute(local, ec);
  if (ec) return io_error(fmt::format("cannot resolve {}: {}", local.string(), ec.message()));
  if (!fs::exists(absolute, ec)) {
    return not_found(fmt::format("{} does not exist (needed for {})", absolute.string(), key));
  }
  const fs::path link = staging / key;
  fs::create_directories(link.parent_path(), ec);
  if (ec) return io_error(fmt::format("cannot create {}: {}", link.parent_path().string(), ec.message()));
  fs::create_symlink(absolute, link, ec);
  if (ec) return io_error(fmt::format("cannot create {}: {}", link.string(), ec.message()));
  return ok_status();
}

}  // namespace

Result<std::string> repository_override_key(std::string_view source_uri) {
  if (!source_uri.starts_with(kNgcScheme) || source_uri.size() == kNgcScheme.size()) {
    return invalid_argument(fmt::format(
        "'{}' has no NIM repository-override key: NIM_REPOSITORY_OVERRIDE stands in for NGC (ngc:// URIs) only",
        source_uri));
  }
  std::string key = percent_encode(source_uri.substr(kNgcScheme.size()));
  if (key.size() > kMaxKeyLength) {
    return invalid_argument(
        fmt::format("the repository-override key of {} is {} bytes long; airlock stages objects "
                    "under their keys and file names stop at {} bytes",
                    source_uri, key.size(), kMaxKeyLength));
  }
  return key;
}

Result<std::string> repository_override_uri(std::string_view key) {
  // An override key is a single encoded component: a '/' means another object (.airlock/...).
  if (key.empty() || key.find('/') != std::string_view::npos || key.starts_with('.')) {
    return invalid_argument(fmt::format("'{}' is not a NIM repository-override key", key));
  }
  auto decoded = percent_decode(key);
  if (!decoded.ok() || decoded->find(':') == std::string::npos || decoded->find('/') == std::string::npos) {
    return invalid_argument(fmt::format("'{}' is not a NIM repository-override key", key));
  }
  return std::string(kNgcScheme) + *decoded;
}

Result<PushSummary> push_repository_override(const std::vector<OverrideFile>& files,
                                             const std::vector<OverrideExtra>& extras, store::Store& store,
                                             PushOptions options, const fs::path& staging) {
  std::error_code ec;
  if (fs::exists(staging, ec) && !fs::is_empty(staging, ec)) {
    return invalid_argument(fmt::format("the staging directory {} is not empty", staging.string()));
  }
  fs::create_directories(staging, ec);
  if (ec) return io_error(fmt::format("cannot create {}: {}", staging.string(), ec.message()));
  // The staging tree is only links: remove it whatever happens.
  struct Cleanup {
    fs::path path;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  } cleanup{staging};

  std::map<std::string, fs::path> by_key;
  for (const OverrideFile& file : files) {
    AIRLOCK_ASSIGN_OR_RETURN(std::string key, repository_override_key(file.source_uri));
    // Profiles share files (the same config.json of one version): one object each.
    by_key.emplace(key, file.local);
  }
  for (const auto& [key, local] : by_key) AIRLOCK_TRY(link_into(staging, key, local));
  for (const OverrideExtra& extra : extras) {
    AIRLOCK_TRY(validate_relative_path(extra.key, "repository-override extra"));
    if (by_key.count(extra.key) > 0) return invalid_argument(fmt::format("key {} given twice", extra.key));
    AIRLOCK_TRY(link_into(staging, extra.key, extra.local));
  }
  // The links point out of the staging tree: push reads through them, storing the bytes (NIM
  // reads objects, not an index of links).
  options.follow_symlinks = true;
  AIRLOCK_ASSIGN_OR_RETURN(PushSummary summary, push(staging, store, options));
  return summary;
}

Result<OverridePull> pull_repository_override(store::Store& store, const OverridePullOptions& options) {
  std::error_code ec;
  fs::create_directories(options.staging, ec);
  if (ec) return io_error(fmt::format("cannot create {}: {}", options.staging.string(), ec.message()));
  AIRLOCK_ASSIGN_OR_RETURN(std::optional<StoreIndex> index, read_store_index(store));
  std::map<std::string, std::string> sha_by_key;
  if (index) {
    for (const IndexEntry& entry : index->entries) {
      if (entry.type != EntryType::kFile) continue;
      sha_by_key[entry.path] = entry.sha256;
      if (!options.existing || entry.sha256.empty()) continue;
      auto uri = repository_override_uri(entry.path);
      const fs::path staged = options.staging / entry.path;
      if (fs::exists(staged, ec)) continue;
      // What an earlier pull installed in the cache: linked (same inode, no copy) so that this
      // pull checks it instead of fetching it again.
      if (auto have = options.existing(entry.path, uri.ok() ? *uri : std::string())) {
        fs::create_directories(staged.parent_path(), ec);
        fs::create_hard_link(*have, staged, ec);
        if (ec) log::debug("cannot link {} into the staging area: {}", have->string(), ec.message());
        ec.clear();
      }
    }
  }
  OverridePull result;
  AIRLOCK_ASSIGN_OR_RETURN(result.summary, pull(store, options.staging, options));
  for (auto it = fs::recursive_directory_iterator(options.staging, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec) || is_airlock_temp_name(it->path().filename().string())) continue;
    const std::string key = it->path().lexically_relative(options.staging).generic_string();
    if (auto uri = repository_override_uri(key); uri.ok()) {
      OverrideObject object;
      object.key = key;
      object.source_uri = *uri;
      object.staged = it->path();
      object.size = it->file_size(ec);
      if (auto sha = sha_by_key.find(key); sha != sha_by_key.end()) object.sha256 = sha->second;
      result.objects.push_back(std::move(object));
    } else if (key.starts_with(".airlock/profiles/") && key.ends_with(".json")) {
      result.extras.push_back(it->path());
    } else {
      result.ignored.push_back(key);
    }
  }
  if (ec) return io_error(fmt::format("cannot read {}: {}", options.staging.string(), ec.message()));
  std::sort(result.objects.begin(), result.objects.end(),
            [](const OverrideObject& a, const OverrideObject& b) { return a.key < b.key; });
  return result;
}

}  // namespace airlock::sync
