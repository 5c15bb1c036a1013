// How `airlock serve` is configured: flags first, then the environment names operators already
// use with NIM (NIM_CACHE_PATH, NIM_MODEL_PROFILE, NIM_SERVED_MODEL_NAME, NIM_HTTP_API_PORT /
// NIM_SERVER_PORT) and airlock's own (AIRLOCK_MODEL_PROFILES_PATH, AIRLOCK_API_KEYS,
// AIRLOCK_CACHE), then defaults. Resolving is separate from parsing so that the precedence is
// one tested function, whatever front end (the CLI, the manager's deployer) fills the flags.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/progress.h"
#include "core/result.h"
#include "net/tls_context.h"
#include "store/store_factory.h"
#include "engine/backend.h"
#include "sync/pull.h"

namespace airlock::server {

// What the front end saw on its command line; empty strings and zeros mean "not given".
struct ServeFlags {
  std::string model_profiles_path;  // --model-profiles-path
  std::string cache_dir;            // --cache-dir
  std::string profile;              // --profile
  std::string served_model_name;    // --served-model-name
  std::string host;                 // --host
  int port = 0;                     // --port
  std::string api_key_file;         // --api-key-file
  bool metrics_require_key = false;
  std::string tls_cert, tls_key;
  std::string verify;  // --verify full|size
  std::size_t max_batch_tokens = 0;
  std::size_t max_batch_requests = 0;
  std::size_t max_concurrent_requests = 0;
  std::size_t max_client_batch_size = 0;
  std::size_t max_connections = 0;
  std::string payload_limit;  // "2MB"
  int threads = 0;            // engine CPU threads
  std::string precision;      // --precision
  int executors = 0;          // batches prepared at once (tokenization overlaps the forward pass)
  double shutdown_timeout_s = 0;
};

struct ServeOptions {
  std::string model_profiles_path;  // a store URI; empty: serve the local cache as it is
  std::filesystem::path cache_dir;
  std::string profile;            // an id or a description; empty: automatic for this hardware
  std::string served_model_name;  // empty: the profile's model name
  std::string host = "0.0.0.0";
  int port = 8000;
  std::vector<std::string> api_keys;  // empty: no authentication
  bool metrics_require_key = false;
  std::optional<net::TlsOptions> tls;
  sync::VerifyMode verify = sync::VerifyMode::kFull;

  // Tokens merged into one batch; 0: by device, 4096 on CPU (the GEMMs are already efficient
  // there, and smaller batches answer sooner) and 16384 on GPU (TEI's default).
  std::size_t max_batch_tokens = 0;
  std::size_t max_batch_requests = 0;  // requests merged into one batch; 0: no cap but the tokens
  std::size_t max_concurrent_requests = 512;
  std::size_t max_client_batch_size = 2048;  // inputs (or passages) per request
  std::uint64_t payload_limit = 2'000'000;   // request body bytes
  int threads = 0;
  // Overrides the profile's precision tag (AIRLOCK_PRECISION): e.g. int8 on a CPU profile.
  std::optional<engine::Precision> precision;
  int executors = 2;
  std::chrono::milliseconds shutdown_timeout{30'000};

  store::StoreConfig store;  // how the store URI is reached (S3 endpoint, TLS, ...)
  int pull_jobs = 8;
  ProgressOptions progress;  // of the pull (plain lines in a container's log)
  std::size_t max_connections = 4096;

  // Where the keys came from ("AIRLOCK_API_KEYS", a file), for the startup summary.
  std::vector<std::string> api_key_sources;
  // Names of the variables that supplied settings, for the startup summary.
  std::vector<std::string> environment_used;
};

// Flags, then the environment, then defaults. Errors: a port or a limit out of range, an
// unreadable key file, only one of the TLS files.
Result<ServeOptions> resolve_serve_options(const ServeFlags& flags);

// Keys from a file: one per line, blank lines and lines starting with '#' ignored, surrounding
// whitespace trimmed.
Result<std::vector<std::string>> read_api_key_file(const std::filesystem::path& path);
// Keys from AIRLOCK_API_KEYS: separated by commas or whitespace.
std::vector<std::string> parse_api_key_list(std::string_view text);

}  // namespace airlock::server
