#include "server/model_startup.h"

#include <fmt/format.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>

#include "cache/hub_layout.h"
#include "core/env.h"
#include "core/file_io.h"
#include "core/file_lock.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/strings.h"
#include "core/units.h"
#include "profiles/manifest.h"
#include "profiles/selection.h"
#include "store/store_factory.h"

namespace airlock::server {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

bool is_airlock_engine(const cache::ProfileRecord& record) {
  for (const auto& [key, value] : record.tags) {
    if (key == "engine") return iequals(value, "airlock");
  }
  return false;
}

std::string tag_of(const cache::ProfileRecord& record, std::string_view key) {
  for (const auto& [k, v] : record.tags) {
    if (k == key) return v;
  }
  return "";
}

profiles::Profile profile_of(const cache::ProfileRecord& record) {
  profiles::Profile profile;
  profile.id = record.id;
  profile.tags = record.tags;
  profile.model = record.model;
  profile.format = profiles::ManifestFormat::kAirlock;
  profile.location = ".airlock/profiles/" + record.id + ".json";
  for (const cache::RecordedFile& file : record.files) {
    profiles::ProfileFile f;
    f.path = file.path;
    f.uri = file.uri;
    f.sha256 = file.sha256;
    f.size = file.size;
    profile.files.push_back(std::move(f));
  }
  return profile;
}

std::string describe_tags(const std::vector<std::pair<std::string, std::string>>& tags) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : tags) parts.push_back(fmt::format("{}={}", k, v));
  return fmt::format("{}", fmt::join(parts, ", "));
}

// Pulls the store into the cache, one replica at a time when several share the cache.
Result<sync::PullSummary> pull_cache(const ServeOptions& options, const std::shared_ptr<std::atomic<bool>>& cancel) {
  AIRLOCK_TRY(make_directories(options.cache_dir / ".airlock"));
  std::optional<FileLock> lock;
  const fs::path lock_path = options.cache_dir / ".airlock" / "pull.lock";
  auto tried = FileLock::try_acquire(lock_path);
  if (!tried.ok()) {
    log::warn("cannot lock {} ({}); pulling without the lock", lock_path.string(), tried.error().message());
  } else if (*tried) {
    lock = std::move(**tried);
  } else {
    log::info("another process is pulling into {}; waiting for it to finish", options.cache_dir.string());
    AIRLOCK_ASSIGN_OR_RETURN(FileLock held, FileLock::acquire(lock_path));
    lock = std::move(held);
  }
  AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, store::open_store(options.model_profiles_path, options.store));
  sync::PullOptions pull;
  pull.verify = options.verify;
  pull.jobs = options.pull_jobs;
  pull.progress = options.progress;
  pull.cancel = cancel;
  log::info("Pulling {} into {} (only what is missing or wrong; every file checked against the store index)",
            store->display_uri(), options.cache_dir.string());
  auto summary = sync::pull(*store, options.cache_dir, pull);
  if (!summary.ok()) {
    return summary.error().with_context(fmt::format("pulling the model profiles path {} into the cache {}",
                                                    store->display_uri(), options.cache_dir.string()));
  }
  const std::string text = summary->to_text();
  for (std::string_view line : split(text, '\n')) {
    if (!trim(line).empty()) log::info("{}", line);
  }
  if (!summary->indexed) {
    log::warn("the store has no airlock index: its files could not be verified against one; the profile's own sha256 "
              "values are checked next");
  }
  return std::move(*summary);
}

// Workspace directories of serve processes that died without cleaning up (SIGKILL, a crash):
// airlock-workspace-<id>-<pid>-<random>.
void remove_stale_workspaces() { remove_directories_of_dead_processes(fs::temp_directory_path(), "airlock-workspace-", 1); }

// A directory holding the profile's files under their workspace paths: the snapshot directory
// itself when the files are laid out there already (a Hugging Face snapshot), else a private
// directory of symlinks into the cache (NIM workspaces mix repositories and revisions). The
// cache itself is never written for this: it may be read-only, and anything put there would be
// pushed with it.
Result<fs::path> assemble_workspace(const cache::CacheLayout& layout, const cache::ProfileRecord& record,
                                    const std::vector<fs::path>& paths, std::unique_ptr<ScopedDirectory>& temporary) {
  bool in_place = !record.files.empty();
  for (const cache::RecordedFile& file : record.files) {
    const cache::RecordedFile& first = record.files.front();
    if (!(file.repo == first.repo) || file.snapshot != first.snapshot || file.file != file.path) in_place = false;
  }
  if (in_place) return layout.snapshot_dir(record.files.front().repo, record.files.front().snapshot);

  remove_stale_workspaces();
  std::string tag = record.id.substr(0, 12);
  std::replace(tag.begin(), tag.end(), '-', '_');  // UUID ids: keep the name's five '-' fields
  std::string pattern =
      (fs::temp_directory_path() / fmt::format("airlock-workspace-{}-{}-XXXXXX", tag, ::getpid())).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return io_error(fmt::format("cannot create a workspace directory under {}: {}", fs::temp_directory_path().string(),
                                std::strerror(errno)));
  }
  fs::path dir = pattern;
  temporary = std::make_unique<ScopedDirectory>(dir);
  for (std::size_t i = 0; i < record.files.size(); ++i) {
    AIRLOCK_ASSIGN_OR_RETURN(fs::path link, safe_join(dir, record.files[i].path, "profile file path"));
    AIRLOCK_TRY(make_directories(link.parent_path()));
    std::error_code ec;
    fs::path target = fs::absolute(paths[i], ec);
    if (ec) target = paths[i];
    fs::create_symlink(target, link, ec);
    if (ec) return io_error(fmt::format("cannot link {} to {}: {}", link.string(), target.string(), ec.message()));
  }
  return dir;
}

Result<engine::LoadOptions> load_options_for(const cache::ProfileRecord& record, const ServeOptions& options) {
  engine::LoadOptions load;
  std::string device = to_lower(tag_of(record, "device"));
  if (device.empty() || device == "cpu") {
    load.backend.device = engine::DeviceKind::kCpu;
  } else if (device == "gpu" || device == "cuda") {
    load.backend.device = engine::DeviceKind::kCuda;
  } else {
    return invalid_argument(fmt::format("profile {}: device '{}' is not one airlock runs (cpu or gpu)", record.id, device));
  }
  std::string precision = tag_of(record, "precision");
  if (options.precision) {
    load.backend.precision = *options.precision;
    log::info("Precision: {} (--precision or AIRLOCK_PRECISION), instead of the profile's {}",
              engine::precision_name(*options.precision), precision.empty() ? "fp32" : precision);
  } else if (precision.empty()) {
    load.backend.precision = engine::Precision::kFloat32;
  } else if (auto parsed = engine::parse_precision(precision)) {
    load.backend.precision = *parsed;
  } else {
    return invalid_argument(fmt::format("profile {}: precision '{}' is not one airlock runs ({})", record.id, precision,
                                        engine::kPrecisionNames));
  }
  load.backend.threads = options.threads;
  return load;
}

}  // namespace

profiles::Hardware runnable_hardware(const profiles::Hardware& detected) {
  profiles::Hardware hardware = detected;
  if (!engine::cuda_backend_available()) hardware.gpus.clear();
  return hardware;
}

profiles::Manifest manifest_of_records(const std::vector<cache::ProfileRecord>& records) {
  profiles::Manifest manifest;
  for (const cache::ProfileRecord& record : records) {
    if (manifest.model.name.empty()) manifest.model.name = record.model;
    manifest.profiles.push_back(profile_of(record));
  }
  return manifest;
}

Result<LoadedModel> start_model(const ServeOptions& options, const std::function<void(std::string_view)>& on_phase,
                                const std::shared_ptr<std::atomic<bool>>& cancel) {
  auto phase = [&](std::string_view name) {
    if (on_phase) on_phase(name);
  };
  LoadedModel loaded;
  const cache::CacheLayout layout(options.cache_dir);

  // 1. The store into the cache.
  if (!options.model_profiles_path.empty()) {
    phase("pulling");
    const auto start = Clock::now();
    AIRLOCK_ASSIGN_OR_RETURN(sync::PullSummary summary, pull_cache(options, cancel));
    loaded.pull_seconds = seconds_since(start);
    loaded.pull = std::move(summary);
  } else {
    log::info("No model profiles path (--model-profiles-path / AIRLOCK_MODEL_PROFILES_PATH): serving the cache {} as it is",
              options.cache_dir.string());
  }
  if (cancel && cancel->load()) return Error(ErrorCode::kCancelled, "interrupted");

  // 2. The profile.
  phase("selecting");
  auto listed = cache::list_profile_records(layout);
  if (!listed.ok()) return listed.error().with_context(fmt::format("reading the profiles of the cache {}", options.cache_dir.string()));
  for (const std::string& problem : listed->problems) log::warn("unreadable profile record: {}", problem);
  std::vector<cache::ProfileRecord> runnable;
  for (cache::ProfileRecord& record : listed->records) {
    if (is_airlock_engine(record)) {
      runnable.push_back(record);
    } else {
      log::info("Profile {} ({}) is for another runtime (tags: {}); airlock serves profiles tagged engine: airlock",
                record.id, record.description, describe_tags(record.tags));
    }
  }
  if (listed->records.empty()) {
    return not_found(fmt::format(
        "the cache {} holds no downloaded profile (.airlock/profiles/ is empty): give --model-profiles-path (or "
        "AIRLOCK_MODEL_PROFILES_PATH) the store a cache was pushed to, or fill this cache with `airlock "
        "download-to-cache`",
        options.cache_dir.string()));
  }
  if (runnable.empty()) {
    return not_found(fmt::format("the cache {} holds {} profile(s), none for airlock's engine (tag engine: airlock); "
                                 "airlock serves encoder models (embeddings, reranking)",
                                 options.cache_dir.string(), listed->records.size()));
  }
  loaded.hardware = profiles::detect_hardware();
  profiles::Manifest manifest = manifest_of_records(runnable);
  const profiles::Hardware hardware = runnable_hardware(loaded.hardware);
  const profiles::Selection selection = profiles::select_profiles(manifest, hardware);
  if (!options.profile.empty()) {
    // A pinned profile of another runtime deserves its own message.
    for (const cache::ProfileRecord& record : listed->records) {
      if ((record.id == options.profile || record.description == options.profile) && !is_airlock_engine(record)) {
        return invalid_argument(fmt::format("profile {} ({}) is for another runtime (tags: {}); airlock serves profiles "
                                            "tagged engine: airlock",
                                            record.id, record.description, describe_tags(record.tags)));
      }
    }
  }
  auto chosen = profiles::resolve_profile(selection, manifest, options.profile);
  if (!chosen.ok()) return chosen.error().with_context("choosing the profile to serve");
  const profiles::Assessment& assessment = **chosen;
  const auto record_it = std::find_if(runnable.begin(), runnable.end(),
                                      [&](const cache::ProfileRecord& r) { return r.id == assessment.profile->id; });
  loaded.profile = *record_it;
  loaded.description = assessment.description;
  if (options.profile.empty()) {
    log::info("Selected profile: {} ({}) automatically for this hardware", loaded.profile.id, loaded.description);
  } else {
    log::info("Using the profile specified by the user: {} ({})", loaded.profile.id, loaded.description);
  }
  log::info("Profile metadata: {}", describe_tags(loaded.profile.tags));
  loaded.manifest = profiles::manifest_to_json(manifest);
  if (cancel && cancel->load()) return Error(ErrorCode::kCancelled, "interrupted");

  // 3. Its files, present and intact; never a download.
  phase("verifying");
  const auto verify_start = Clock::now();
  const bool pulled_verified = loaded.pull && loaded.pull->indexed && loaded.pull->verified;
  const bool hash_files = options.verify == sync::VerifyMode::kFull && !pulled_verified;
  std::vector<fs::path> paths;
  for (const cache::RecordedFile& file : loaded.profile.files) {
    auto path = cache::recorded_file_path(layout, file);
    if (!path.ok()) return path.error().with_context(fmt::format("profile {}: file {}", loaded.profile.id, file.path));
    std::error_code ec;
    const auto size = fs::file_size(*path, ec);
    if (ec) {
      return not_found(fmt::format("profile {}: file {} is missing from the cache ({}); this runtime never downloads: "
                                   "push a complete cache to the store, or run download-to-cache where there is network",
                                   loaded.profile.id, file.path, path->string()));
    }
    if (size != file.size) {
      return Error(ErrorCode::kCorrupt,
                   fmt::format("profile {}: file {} in the cache ({}) has {} bytes, the profile record says {}: the cache "
                               "is corrupt; pull it again (`airlock pull`) or rebuild it",
                               loaded.profile.id, file.path, path->string(), size, file.size));
    }
    if (hash_files) {
      AIRLOCK_ASSIGN_OR_RETURN(std::string sha, sha256_file_hex(*path));
      if (sha != file.sha256) {
        return Error(ErrorCode::kCorrupt,
                     fmt::format("profile {}: file {} in the cache ({}) has sha256 {}, the profile record says {}: the "
                                 "cache is corrupt; pull it again (`airlock pull`) or rebuild it",
                                 loaded.profile.id, file.path, path->string(), sha, file.sha256));
      }
    }
    log::info("File: {} found in cache", file.path);
    log::info("Skipping download, using cached copy of file: {} at path: {}", file.path, path->string());
    paths.push_back(*path);
  }
  loaded.files_checked = paths.size();
  loaded.sha256_checked = pulled_verified || hash_files;
  loaded.verify_seconds = seconds_since(verify_start);

  // 4. The model.
  phase("loading");
  AIRLOCK_ASSIGN_OR_RETURN(fs::path dir, assemble_workspace(layout, loaded.profile, paths, loaded.workspace));
  loaded.model_dir = dir;
  AIRLOCK_ASSIGN_OR_RETURN(engine::LoadOptions load, load_options_for(loaded.profile, options));
  const auto load_start = Clock::now();
  auto model = engine::Model::load(dir, load);
  if (!model.ok()) return model.error().with_context(fmt::format("loading profile {} from {}", loaded.profile.id, dir.string()));
  loaded.model = std::move(*model);
  if (loaded.model->info().kind == engine::ModelKind::kEmbedding) {
    AIRLOCK_ASSIGN_OR_RETURN(TokenEmbedder tokens, TokenEmbedder::load(*loaded.model, dir));
    loaded.tokens = std::make_unique<TokenEmbedder>(std::move(tokens));
  }
  loaded.load_seconds = seconds_since(load_start);
  loaded.served_model_name = !options.served_model_name.empty() ? options.served_model_name
                             : !loaded.profile.model.empty()    ? loaded.profile.model
                                                                : loaded.profile.id;
  return loaded;
}

ScopedDirectory::~ScopedDirectory() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string render_startup_summary(const LoadedModel& loaded) {
  const engine::ModelInfo& info = loaded.model->info();
  std::string out = "airlock serve: model ready\n";
  out += fmt::format("  model:       {} (served as \"{}\")\n", loaded.profile.model.empty() ? "-" : loaded.profile.model,
                     loaded.served_model_name);
  out += fmt::format("  profile:     {} ({})\n", loaded.profile.id, loaded.description);
  out += fmt::format("  tags:        {}\n", describe_tags(loaded.profile.tags));
  out += fmt::format("  kind:        {} ({}, {}), {} dimensions, {} tokens per input max\n",
                     info.kind == engine::ModelKind::kEmbedding ? "embedding" : "reranker", info.architecture,
                     info.model_type, info.dimensions, info.max_tokens);
  out += fmt::format("  backend:     {}\n", info.backend);
  const profiles::CpuInfo& cpu = loaded.hardware.cpu;
  out += fmt::format("  hardware:    CPU {} ({} threads{}{}), ", cpu.model.empty() ? "unknown" : cpu.model, cpu.threads,
                     cpu.features.empty() ? "" : ", ", fmt::join(cpu.features, " "));
  if (loaded.hardware.gpus.empty()) {
    out += "no GPU\n";
  } else {
    std::vector<std::string> gpus;
    for (const profiles::GpuInfo& gpu : loaded.hardware.gpus) gpus.push_back(fmt::format("{} [{}]", gpu.name, gpu.pci_id()));
    out += fmt::format("{} GPU(s): {}{}\n", gpus.size(), fmt::join(gpus, ", "),
                       engine::cuda_backend_available() ? "" : " (this build has no CUDA backend: CPU profiles only)");
  }
  out += fmt::format("  files:       {} ({}), {}\n", loaded.files_checked, format_bytes(loaded.profile.total_size()),
                     loaded.sha256_checked ? "sha256 verified" : "sizes checked");
  out += fmt::format("  model dir:   {}\n", loaded.model_dir.string());
  if (loaded.pull) {
    out += fmt::format("  pull:        {} files fetched ({}), {} already in the cache, {:.2f}s\n", loaded.pull->fetched_files,
                       format_bytes(loaded.pull->fetched_bytes), loaded.pull->up_to_date_files, loaded.pull_seconds);
  }
  out += fmt::format("  timings:     verify {:.2f}s, load {:.2f}s\n", loaded.verify_seconds, loaded.load_seconds);
  return out;
}

std::string ngc_key_warning() {
  auto value = first_env({"NGC_API_KEY", "NGC_CLI_API_KEY"});
  if (!value) return "";
  return fmt::format("{} is set and is ignored: airlock serve never contacts NGC or any model hub (it reads only the "
                     "model profiles path and the local cache)",
                     value->name);
}

}  // namespace airlock::server
