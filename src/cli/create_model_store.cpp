// `airlock create-model-store`: one profile's files as a plain directory (no symlinks), for
// runtimes that want a model directory. Like NIM's command of the same name, it fills the cache
// first when given a manifest and the profile is not there yet.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "cache/hub_layout.h"
#include "cache/model_store.h"
#include "cache/profile_record.h"
#include "cli/cache_options.h"
#include "cli/command.h"
#include "core/json.h"
#include "core/log.h"
#include "core/units.h"
#include "fetch/download_to_cache.h"
#include "profiles/manifest.h"

namespace airlock::cli {
namespace {

struct ModelStoreOptions {
  std::string profile;
  std::string store;
  std::string manifest;
  CacheOptions cache;
  HttpOptions http;
  bool json = false;
};

Status fill_cache(const ModelStoreOptions& options, const GlobalOptions& global) {
  profiles::ManifestSource source;
  source.file = options.manifest;
  AIRLOCK_ASSIGN_OR_RETURN(profiles::Manifest manifest, profiles::load_manifest(source));
  fetch::ProfileChoice choice;
  choice.requested = {options.profile};
  AIRLOCK_ASSIGN_OR_RETURN(auto selected, fetch::choose_profiles(manifest, choice, [] {
                             return Result<profiles::Hardware>(invalid_argument("no hardware needed"));
                           }));
  fetch::DownloadOptions download;
  download.cache_root = options.cache.root();
  download.local_base = std::filesystem::path(manifest.sources.front()).parent_path();
  download.manifests = manifest.sources;
  download.http = options.http.client_options();
  download.progress = progress_options(global);
  download.ngc = fetch::NgcSettings::from_environment();
  download.hf = fetch::HfSettings::from_environment();
  AIRLOCK_ASSIGN_OR_RETURN(fetch::DownloadSummary summary, fetch::download_profiles(manifest, selected, download));
  if (!summary.errors.empty()) {
    std::string text = fetch::render_summary(summary);
    std::fwrite(text.data(), 1, text.size(), stderr);
    return Error(summary.errors.front().code(), "filling the cache failed: " + summary.errors.front().message());
  }
  return ok_status();
}

Status run_model_store(const ModelStoreOptions& options, const GlobalOptions& global) {
  cache::CacheLayout layout(options.cache.root());
  const std::string& id = options.profile;
  auto record = cache::read_profile_record(layout, id);
  if (!record.ok() && record.error().code() == ErrorCode::kNotFound && !options.manifest.empty()) {
    AIRLOCK_TRY(fill_cache(options, global));
    record = cache::read_profile_record(layout, id);
  }
  if (!record.ok()) return record.error();
  log::info("Creating model store {} from profile {} ({})", options.store, record->id, record->description);
  AIRLOCK_ASSIGN_OR_RETURN(cache::ModelStoreResult result,
                           cache::create_model_store(layout, *record, options.store, progress_options(global)));
  std::string out;
  if (options.json) {
    Json json = {{"profile", record->id},   {"description", record->description}, {"model_store", options.store},
                 {"files", result.files},   {"bytes", result.bytes},             {"unchanged", result.unchanged}};
    out = dump_json(json, 2) + "\n";
  } else {
    out = fmt::format("Model store {}: {} files, {} ({} already up to date) from profile {} ({})\n", options.store, result.files,
                      format_bytes(result.bytes), result.unchanged, record->id, record->description);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return ok_status();
}

}  // namespace

void add_create_model_store_command(CLI::App& app, CommandContext context) {
  auto options = std::make_shared<ModelStoreOptions>();
  CLI::App* command = app.add_subcommand(
      "create-model-store", "Copy one cached profile's files into a plain directory (no symlinks) for runtimes that want one");
  command->add_option("-p,--profile", options->profile, "Profile id (as in the cache)")->required();
  command->add_option("-m,--model-store", options->store, "Directory to fill")->required();
  command->add_option("--manifest-file", options->manifest,
                      "Manifest to download the profile from first when it is not in the cache yet");
  options->cache.add_to(*command);
  options->http.add_to(*command);
  command->add_flag("--json", options->json, "Print the result as JSON");
  command->callback([options, context] { context.action = [options, context] { return run_model_store(*options, context.global); }; });
}

AIRLOCK_REGISTER_COMMAND(21, add_create_model_store_command);

}  // namespace airlock::cli
