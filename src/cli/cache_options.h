// Flags shared by the commands that work on a local cache (download-to-cache, create-model-store,
// cache …) and by those that reach a network (--ca-bundle, --insecure).
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <string>

#include "cli/command.h"
#include "core/progress.h"
#include "net/http_client.h"

namespace airlock::cli {

struct CacheOptions {
  std::string cache_dir;

  void add_to(CLI::App& command);
  // --cache-dir, else $AIRLOCK_CACHE, else $NIM_CACHE_PATH, else ~/.cache/airlock.
  std::filesystem::path root() const;
};

struct HttpOptions {
  std::string ca_bundle;
  bool insecure = false;

  void add_to(CLI::App& command);
  net::HttpClientOptions client_options() const;
};

// Progress on stderr: bars on a terminal, lines otherwise, nothing with --quiet.
ProgressOptions progress_options(const GlobalOptions& global);

}  // namespace airlock::cli
