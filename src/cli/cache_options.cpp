#include "cli/cache_options.h"

#include "core/paths.h"

namespace airlock::cli {

void CacheOptions::add_to(CLI::App& command) {
  command.add_option("--cache-dir", cache_dir,
                     "Cache root; default $AIRLOCK_CACHE, else $NIM_CACHE_PATH, else ~/.cache/airlock");
}

std::filesystem::path CacheOptions::root() const {
  std::filesystem::path root = cache_dir.empty() ? default_cache_root() : std::filesystem::path(cache_dir);
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(root, ec);
  return ec ? root : absolute.lexically_normal();
}

void HttpOptions::add_to(CLI::App& command) {
  command.add_option("--ca-bundle", ca_bundle, "PEM file of CA certificates to trust (default: $SSL_CERT_FILE or the system's)");
  command.add_flag("--insecure", insecure, "Do not verify TLS certificates (testing only)");
}

net::HttpClientOptions HttpOptions::client_options() const {
  net::HttpClientOptions options;
  options.ca_bundle = ca_bundle;
  options.insecure = insecure;
  return options;
}

ProgressOptions progress_options(const GlobalOptions& global) {
  ProgressOptions options;
  if (global.quiet) options.style = ProgressStyle::kQuiet;
  return options;
}

}  // namespace airlock::cli
