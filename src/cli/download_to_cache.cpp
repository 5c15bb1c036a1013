// `airlock download-to-cache`: the files of the chosen profiles into the local cache, the way
// NIM's command of the same name does it, without Docker or a GPU, verified and resumable.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "cli/cache_options.h"
#include "cli/command.h"
#include "cli/hardware_options.h"
#include "cli/store_options.h"
#include "core/json.h"
#include "core/log.h"
#include "core/units.h"
#include "fetch/download_to_cache.h"
#include "profiles/manifest.h"

namespace airlock::cli {
namespace {

struct DownloadCommandOptions {
  std::string manifest;
  std::string manifest_dir;
  std::vector<std::string> profiles;
  bool all = false;
  bool lora = false;
  HardwareOptions hardware;
  CacheOptions cache;
  HttpOptions http;
  StoreOptions store;  // object-store sources (s3://, gs://, ...) in the manifest
  int jobs = 8;
  std::string chunk_size = "16MiB";
  bool json = false;
  bool ignore_free_space = false;
  bool fsync = false;
};

Status run_download(const DownloadCommandOptions& options, const GlobalOptions& global) {
  if (options.jobs < 1 || options.jobs > 256) return invalid_argument("--jobs must be between 1 and 256");
  profiles::ManifestSource source;
  if (!options.manifest.empty()) source.file = options.manifest;
  if (!options.manifest_dir.empty()) source.dir = options.manifest_dir;
  AIRLOCK_ASSIGN_OR_RETURN(profiles::Manifest manifest, profiles::load_manifest(source));

  fetch::ProfileChoice choice;
  choice.requested = options.profiles;
  choice.all = options.all;
  choice.lora = options.lora;
  AIRLOCK_ASSIGN_OR_RETURN(auto selected,
                           fetch::choose_profiles(manifest, choice, [&] { return options.hardware.resolve(); }));

  fetch::DownloadOptions download;
  download.cache_root = options.cache.root();
  if (!manifest.sources.empty()) download.local_base = std::filesystem::path(manifest.sources.front()).parent_path();
  download.manifests = manifest.sources;
  download.jobs = options.jobs;
  AIRLOCK_ASSIGN_OR_RETURN(std::uint64_t chunk, parse_bytes(options.chunk_size));
  if (chunk < (64u << 10)) return invalid_argument("--chunk-size must be at least 64KiB");
  download.tuning.chunk_size = chunk;
  download.tuning.parallel_threshold = 3 * chunk;
  download.tuning.sync = options.fsync;
  download.ignore_free_space = options.ignore_free_space;
  download.http = options.http.client_options();
  download.store = options.store.config(options.jobs);
  download.store.ca_bundle = options.http.ca_bundle;
  download.store.insecure = options.http.insecure;
  download.progress = progress_options(global);
  download.ngc = fetch::NgcSettings::from_environment();
  download.hf = fetch::HfSettings::from_environment();
  log::info("Cache: {}", download.cache_root.string());
  AIRLOCK_ASSIGN_OR_RETURN(fetch::DownloadSummary summary, fetch::download_profiles(manifest, selected, download));

  std::string out = options.json ? dump_json(fetch::summary_to_json(summary), 2) + "\n" : fetch::render_summary(summary);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  if (!summary.errors.empty()) {
    return Error(summary.errors.front().code(),
                 fmt::format("{} of {} files could not be fetched (first: {}); run the command again to resume",
                             summary.failed, summary.files, summary.errors.front().message()));
  }
  return ok_status();
}

}  // namespace

void add_download_to_cache_command(CLI::App& app, CommandContext context) {
  auto options = std::make_shared<DownloadCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "download-to-cache", "Download the files of the chosen profiles into the local model cache (NGC, Hugging Face, https)");
  auto* manifest = command->add_option("-m,--manifest,--manifest-file", options->manifest,
                                       "Model manifest (NIM v1/v2 or airlock/1); default $NIM_MANIFEST_PATH");
  command->add_option("--manifest-dir", options->manifest_dir, "A directory of manifests, read as one")->excludes(manifest);
  auto* profiles = command->add_option("-p,--profiles,--profile", options->profiles,
                                       "Profiles to download, by id or description (several allowed)");
  auto* all = command->add_flag("--all", options->all, "Every profile of the manifest")->excludes(profiles);
  command->add_flag("--lora", options->lora, "The default LoRA profile for this hardware")->excludes(profiles)->excludes(all);
  options->hardware.add_to(*command);
  options->cache.add_to(*command);
  options->http.add_to(*command);
  options->store.add_object_store_flags(*command, "--aws-profile");
  command->add_option("-j,--jobs", options->jobs, "Transfers in flight at once (files and ranges of large files)")
      ->capture_default_str();
  command->add_option("--chunk-size", options->chunk_size,
                      "Bytes per ranged request; files over three chunks download in parallel ranges")
      ->capture_default_str();
  command->add_flag("--json", options->json, "Print the summary as JSON");
  command->add_flag("--ignore-free-space", options->ignore_free_space, "Start even when the free space looks too small");
  command->add_flag("--fsync", options->fsync, "Flush every file to disk before it takes its name (slower; survives power loss)");
  command->footer(
      "Without --profiles, --all or --lora, the profile chosen automatically for this machine (or --target) is downloaded.\n"
      "Credentials: NGC_API_KEY (or NGC_CLI_API_KEY) for ngc://, HF_TOKEN for hf://; endpoints NGC_API_ENDPOINT,\n"
      "NGC_AUTH_ENDPOINT, HF_ENDPOINT. Object-store sources (s3://, gs://, Azure, hdfs://) take the store flags and the\n"
      "credentials push and pull read. A run that is interrupted continues where it stopped when run again.");
  command->callback([options, context] { context.action = [options, context] { return run_download(*options, context.global); }; });
}

AIRLOCK_REGISTER_COMMAND(20, add_download_to_cache_command);

}  // namespace airlock::cli
