// The runtime's start: from a model profiles path on object storage (or a local cache) to a
// loaded model, without ever reaching for a model hub (this library has no hub client; see
// README.md). In order:
//   1. pull the store into the local cache (only what is missing or wrong, every byte checked
//      against the store index), under a lock so that replicas sharing a cache take turns;
//   2. choose the profile among the cache's profile records that airlock's engine runs (tag
//      engine: airlock): the pinned one (id or description), else NIM's automatic choice for
//      the hardware found (GPU profiles only when this build has the CUDA backend);
//   3. log NIM's per-file lines ("File: … found in cache", "Skipping download, using cached
//      copy of file: …") and check every file of the profile: present, its size, and its sha256
//      unless the pull has just verified it; a missing or corrupt file is an error naming it;
//   4. load the model from the profile's snapshot files.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/profile_record.h"
#include "core/json.h"
#include "core/result.h"
#include "engine/model.h"
#include "profiles/hardware.h"
#include "profiles/manifest.h"
#include "server/serve_options.h"
#include "server/token_inputs.h"
#include "sync/pull.h"

namespace airlock::server {

// A directory removed, with what it holds, when the owner goes.
class ScopedDirectory {
 public:
  explicit ScopedDirectory(std::filesystem::path path) : path_(std::move(path)) {}
  ~ScopedDirectory();
  ScopedDirectory(const ScopedDirectory&) = delete;
  ScopedDirectory& operator=(const ScopedDirectory&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct LoadedModel {
  std::unique_ptr<engine::Model> model;
  std::unique_ptr<TokenEmbedder> tokens;  // embedding models only
  cache::ProfileRecord profile;
  std::string description;  // NIM's description of the profile ("airlock-cpu-fp32")
  profiles::Hardware hardware;
  std::filesystem::path model_dir;
  // The private directory of symlinks that lays a NIM-style workspace out for the engine, when
  // the profile's files are not already one snapshot directory.
  std::unique_ptr<ScopedDirectory> workspace;
  std::string served_model_name;
  std::optional<sync::PullSummary> pull;
  std::size_t files_checked = 0;
  bool sha256_checked = false;  // every file's sha256 was checked in this start (pull or verify)
  double pull_seconds = 0, verify_seconds = 0, load_seconds = 0;
  Json manifest;  // the cache's airlock profiles in airlock's manifest form (GET /v1/manifest)
};

// `on_phase` is told "pulling", "selecting", "verifying", "loading" as they begin. `cancel`
// (may be null) stops a pull early.
Result<LoadedModel> start_model(const ServeOptions& options, const std::function<void(std::string_view)>& on_phase,
                                const std::shared_ptr<std::atomic<bool>>& cancel);

// The hardware airlock's engine can use here: the detected one, without GPUs when this build has
// no CUDA backend (their profiles would be chosen and then fail to load).
profiles::Hardware runnable_hardware(const profiles::Hardware& detected);

// Profile records as a manifest (airlock's form): for selection and for GET /v1/manifest.
profiles::Manifest manifest_of_records(const std::vector<cache::ProfileRecord>& records);

// The startup summary: profile, tags, hardware, model, timings (several lines).
std::string render_startup_summary(const LoadedModel& loaded);

// A warning when NGC_API_KEY / NGC_CLI_API_KEY is set: the runtime ignores it (it breaks other
// runtimes offline; it must not break this one). Empty when neither is set.
std::string ngc_key_warning();

}  // namespace airlock::server
