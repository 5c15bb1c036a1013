#include "cli/repository_override_layout.h"

#include <fmt/format.h>
#include <unistd.h>

#include <map>
#include <random>

#include "cache/cache_lock.h"
#include "cache/hub_layout.h"
#include "cache/hub_repo.h"
#include "cache/profile_record.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/log.h"
#include "core/paths.h"
#include "fetch/source_uri.h"
#include "sync/repository_override.h"

namespace airlock::cli {
namespace fs = std::filesystem;

namespace {

// Where a pulled object goes in the cache: from its profile record when one came along (the
// blob keeps the name the download gave it), else from its ngc:// URI, named by its sha256.
struct Placement {
  cache::RepoId repo;
  std::string snapshot;
  std::string file;
  std::string blob;
};

Result<Placement> placement_from_uri(const std::string& uri) {
  AIRLOCK_ASSIGN_OR_RETURN(fetch::SourceRef ref, fetch::parse_source_uri(uri));
  if (ref.kind != fetch::SourceKind::kNgc || ref.file.empty()) {
    return invalid_argument(fmt::format("{} is not one file of an NGC model version", uri));
  }
  Placement placement;
  placement.repo = cache::RepoId{cache::Hub::kNgc, ref.repo};
  AIRLOCK_TRY(cache::validate_repo_name(cache::Hub::kNgc, ref.repo));
  AIRLOCK_TRY(cache::validate_snapshot_name(ref.revision));
  placement.snapshot = ref.revision;
  placement.file = ref.file;
  return placement;
}

}  // namespace

Result<sync::PushSummary> push_repository_override_layout(const fs::path& cache_root, store::Store& store,
                                                          const sync::PushOptions& options) {
  const cache::CacheLayout layout(cache_root);
  AIRLOCK_ASSIGN_OR_RETURN(cache::CacheUseLock lock, cache::CacheUseLock::shared(layout));
  AIRLOCK_ASSIGN_OR_RETURN(cache::RecordList records, cache::list_profile_records(layout));
  for (const auto& problem : records.problems) log::warn("skipping a profile record: {}", problem);
  if (records.records.empty()) {
    return not_found(fmt::format("{} holds no downloaded profiles ({} is empty); run download-to-cache first",
                                 cache_root.string(), layout.profiles_dir().string()));
  }
  std::vector<sync::OverrideFile> files;
  std::vector<sync::OverrideExtra> extras;
  std::vector<std::string> skipped;
  for (const cache::ProfileRecord& record : records.records) {
    for (const cache::RecordedFile& file : record.files) {
      if (!file.uri.starts_with("ngc://")) {
        // NIM_REPOSITORY_OVERRIDE replaces NGC only: other sources keep coming from where they are.
        skipped.push_back(fmt::format("{} ({}): not an NGC file, NIM reads it from its source", file.path, file.uri));
        continue;
      }
      AIRLOCK_ASSIGN_OR_RETURN(fs::path local, cache::recorded_file_path(layout, file));
      std::error_code ec;
      if (!fs::exists(local, ec)) {
        return not_found(fmt::format("profile {} lists {} but {} is missing; run `airlock cache verify`", record.id,
                                     file.uri, local.string()));
      }
      files.push_back(sync::OverrideFile{file.uri, local});
    }
    extras.push_back(
        sync::OverrideExtra{".airlock/profiles/" + layout.profile_record_path(record.id).filename().string(),
                            layout.profile_record_path(record.id)});
  }
  std::random_device device;
  const fs::path staging = fs::temp_directory_path() /
                           fmt::format("airlock-override-{}-{:08x}", ::getpid(), static_cast<std::uint32_t>(device()));
  AIRLOCK_ASSIGN_OR_RETURN(sync::PushSummary summary,
                           sync::push_repository_override(files, extras, store, options, staging));
  summary.source = cache_root.string();
  for (auto& item : skipped) summary.skipped.push_back(std::move(item));
  return summary;
}

Result<sync::PullSummary> pull_repository_override_layout(store::Store& store, const fs::path& cache_root,
                                                          const sync::PullOptions& options) {
  const cache::CacheLayout layout(cache_root);
  std::error_code ec;
  fs::create_directories(layout.airlock_dir(), ec);
  if (ec) return io_error(fmt::format("cannot create {}: {}", layout.airlock_dir().string(), ec.message()));
  AIRLOCK_ASSIGN_OR_RETURN(cache::CacheUseLock lock, cache::CacheUseLock::shared(layout));
  sync::OverridePullOptions pull_options;
  static_cast<sync::PullOptions&>(pull_options) = options;
  // One staging directory per store, kept until everything is installed: a rerun resumes it.
  pull_options.staging =
      layout.airlock_dir() / "staging" / ("repository-override-" + sha256_hex(store.display_uri()).substr(0, 16));
  pull_options.existing = [&layout](const std::string& key, const std::string& uri) -> std::optional<fs::path> {
    std::error_code missing;
    if (uri.empty()) {
      auto record = safe_join(layout.root(), key, "repository-override object");
      if (!record.ok() || !fs::is_regular_file(*record, missing)) return std::nullopt;
      return *record;
    }
    auto placement = placement_from_uri(uri);
    if (!placement.ok()) return std::nullopt;
    auto entry = cache::read_snapshot_entry(layout, placement->repo, placement->snapshot, placement->file);
    if (!entry.ok() || !*entry || !(*entry)->present) return std::nullopt;
    return (*entry)->target;  // the pull checks its sha256 before taking it
  };
  AIRLOCK_ASSIGN_OR_RETURN(sync::OverridePull pulled, sync::pull_repository_override(store, pull_options));
  for (const auto& key : pulled.ignored)
    log::warn("{}: '{}' is not a repository-override object; left out", store.display_uri(), key);

  // The records that came along say where each file belongs and under which blob name.
  std::vector<cache::ProfileRecord> records;
  std::map<std::string, cache::RecordedFile> by_uri;
  for (const fs::path& extra : pulled.extras) {
    auto json = read_json_file(extra);
    auto record = json.ok() ? cache::record_from_json(*json, extra.filename().string())
                            : Result<cache::ProfileRecord>(json.error());
    if (!record.ok()) {
      log::warn("{}: {}; the profile is not recorded", extra.filename().string(), record.error().message());
      continue;
    }
    for (const auto& file : record->files) by_uri.emplace(file.uri, file);
    records.push_back(std::move(record).value());
  }
  AIRLOCK_TRY(cache::ensure_hub_dir(layout, cache::Hub::kNgc));
  for (const sync::OverrideObject& object : pulled.objects) {
    Placement placement;
    if (auto known = by_uri.find(object.source_uri); known != by_uri.end() && !known->second.blob.empty()) {
      placement.repo = known->second.repo;
      placement.snapshot = known->second.snapshot;
      placement.file = known->second.file;
      placement.blob = known->second.blob;
    } else {
      AIRLOCK_ASSIGN_OR_RETURN(placement, placement_from_uri(object.source_uri));
    }
    if (placement.blob.empty()) {
      if (!object.sha256.empty()) {
        placement.blob = object.sha256;
      } else {
        AIRLOCK_ASSIGN_OR_RETURN(placement.blob, sha256_file_hex(object.staged));
      }
    }
    AIRLOCK_TRY(cache::validate_blob_name(placement.blob));
    // install_blob keeps a blob that is already there (the staged file may be a link to it).
    AIRLOCK_TRY(cache::install_blob(layout, placement.repo, object.staged, placement.blob));
    AIRLOCK_TRY(cache::link_snapshot_file(layout, placement.repo, placement.snapshot, placement.file, placement.blob));
    AIRLOCK_ASSIGN_OR_RETURN(std::optional<std::string> ref,
                             cache::read_ref(layout, placement.repo, placement.snapshot));
    if (!ref) AIRLOCK_TRY(cache::write_ref(layout, placement.repo, placement.snapshot, placement.snapshot));
  }
  // A record is written last and only when every file it lists is in place: its presence
  // means "this profile is complete".
  for (const cache::ProfileRecord& record : records) {
    bool complete = true;
    for (const auto& file : record.files) {
      auto path = cache::recorded_file_path(layout, file);
      if (!path.ok() || !fs::exists(*path, ec)) {
        complete = false;
        if (file.uri.starts_with("ngc://")) log::warn("profile {}: {} did not arrive", record.id, file.uri);
        break;
      }
    }
    if (complete) {
      AIRLOCK_TRY(cache::write_profile_record(layout, record));
    } else {
      log::warn("profile {} is incomplete in {}; its record is not written (download-to-cache can finish it)",
                record.id, cache_root.string());
    }
  }
  fs::remove_all(pull_options.staging, ec);
  sync::PullSummary summary = pulled.summary;
  summary.destination = cache_root.string();
  return summary;
}

}  // namespace airlock::cli
