// download-to-cache: the files of the chosen profiles, from their sources (NGC, Hugging Face,
// https://, local paths, object stores such as s3://) into the cache's hub layout, in parallel, verified and resumable.
//
// In order: every source URI, path and name is checked before anything is written (a hostile
// manifest changes nothing); files already in the cache are reported as NIM does ("File: … found
// in cache"); the rest are resolved (listings, HEAD) to learn sizes and hashes; the run refuses
// when the free space is short; then files download in parallel (large ones in parallel ranges),
// hashed as bytes arrive, each taking its final name only after its check passes; last, a record
// of each complete profile goes to `.airlock/profiles/<id>.json`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/progress.h"
#include "core/result.h"
#include "fetch/blob_download.h"
#include "fetch/hf_client.h"
#include "fetch/ngc_client.h"
#include "net/http_client.h"
#include "profiles/hardware.h"
#include "profiles/manifest.h"
#include "store/store_factory.h"

namespace airlock::fetch {

struct SelectedProfile {
  const profiles::Profile* profile = nullptr;
  std::string description;
};

struct ProfileChoice {
  std::vector<std::string> requested;  // ids or descriptions
  bool all = false;
  bool lora = false;
};

// The profiles to download: the named ones (ids or descriptions; unknown names are an error that
// lists the valid ones), every one with `all`, else the automatic choice for `hardware` (the
// default LoRA profile with `lora`). `hardware` is only called when it is needed.
Result<std::vector<SelectedProfile>> choose_profiles(const profiles::Manifest& manifest, const ProfileChoice& choice,
                                                     const std::function<Result<profiles::Hardware>()>& hardware);

struct DownloadOptions {
  std::filesystem::path cache_root;
  std::filesystem::path local_base;  // relative local sources are read from here (the manifest's folder)
  std::vector<std::string> manifests;  // recorded in profile records
  int jobs = 8;                         // transfers in flight (files and ranges together)
  bool ignore_free_space = false;
  net::HttpClientOptions http;
  ProgressOptions progress;
  DownloadTuning tuning;
  NgcSettings ngc;
  HfSettings hf;
  // Object-store sources (s3://, ...): endpoint, region, credentials as for push and pull; empty
  // fields fall back to the environment (AWS_ENDPOINT_URL, AWS_REGION, ...). TLS follows `http`
  // unless set here.
  store::StoreConfig store;
  int corrupt_retries = 1;  // times a file that fails its check is downloaded again
};

struct ProfileOutcome {
  std::string id;
  std::string description;
  std::size_t files = 0;
  std::uint64_t bytes = 0;
  bool complete = false;
};

struct DownloadSummary {
  std::string cache_root;
  std::vector<ProfileOutcome> profiles;
  std::size_t files = 0;       // distinct files the profiles need
  std::size_t downloaded = 0;
  std::size_t cached = 0;
  std::size_t failed = 0;
  std::uint64_t bytes = 0;             // of all the files
  std::uint64_t bytes_downloaded = 0;  // received over the network in this run
  std::uint64_t bytes_resumed = 0;     // kept from interrupted runs
  double seconds = 0;
  std::vector<Error> errors;

  double rate() const { return seconds > 0 ? static_cast<double>(bytes_downloaded) / seconds : 0; }
};

// Returns an error only when nothing could start (bad manifest, no space, unusable cache);
// failures of single files are in the summary's `errors`, and their profiles get no record.
Result<DownloadSummary> download_profiles(const profiles::Manifest& manifest, const std::vector<SelectedProfile>& selected,
                                          const DownloadOptions& options);

Json summary_to_json(const DownloadSummary& summary);
std::string render_summary(const DownloadSummary& summary);

}  // namespace airlock::fetch
