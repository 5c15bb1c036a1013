#include "server/serve_options.h"

#include <fmt/format.h>

#include "core/env.h"
#include "core/file_io.h"
#include "core/paths.h"
#include "core/redact.h"
#include "core/strings.h"
#include "core/units.h"

namespace airlock::server {
namespace {

Result<int> parse_port(std::string_view text, std::string_view source) {
  auto value = parse_u64(trim(text));
  if (!value || *value < 1 || *value > 65535) {
    return invalid_argument(fmt::format("{} must be a TCP port between 1 and 65535 (got \"{}\")", source, text));
  }
  return static_cast<int>(*value);
}

}  // namespace

std::vector<std::string> parse_api_key_list(std::string_view text) {
  std::vector<std::string> keys;
  std::string current;
  for (char c : text) {
    if (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (!current.empty()) keys.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) keys.push_back(std::move(current));
  return keys;
}

Result<std::vector<std::string>> read_api_key_file(const std::filesystem::path& path) {
  auto text = read_file_limited(path, 1 << 20);
  if (!text.ok()) return text.error().with_context(fmt::format("reading the API key file {}", path.string()));
  std::vector<std::string> keys;
  for (std::string_view line : split(*text, '\n')) {
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    keys.emplace_back(line);
  }
  if (keys.empty()) {
    return invalid_argument(fmt::format("the API key file {} holds no key (one per line; '#' starts a comment)",
                                        path.string()));
  }
  return keys;
}

Result<ServeOptions> resolve_serve_options(const ServeFlags& flags) {
  ServeOptions o;
  auto from = [&](const std::string& flag, std::initializer_list<const char*> names) -> std::string {
    if (!flag.empty()) return flag;
    if (auto value = first_env(names)) {
      o.environment_used.push_back(value->name);
      return value->value;
    }
    return "";
  };

  o.model_profiles_path = from(flags.model_profiles_path, {"AIRLOCK_MODEL_PROFILES_PATH"});
  // The cache root follows the rule every command shares (AIRLOCK_CACHE, then NIM_CACHE_PATH).
  if (!flags.cache_dir.empty()) {
    o.cache_dir = flags.cache_dir;
  } else {
    if (auto value = first_env({"AIRLOCK_CACHE", "NIM_CACHE_PATH"})) o.environment_used.push_back(value->name);
    o.cache_dir = default_cache_root();
  }
  o.profile = from(flags.profile, {"NIM_MODEL_PROFILE"});
  o.served_model_name = from(flags.served_model_name, {"NIM_SERVED_MODEL_NAME"});
  if (!flags.host.empty()) o.host = flags.host;

  if (flags.port != 0) {
    if (flags.port < 1 || flags.port > 65535) {
      return invalid_argument(fmt::format("--port must be between 1 and 65535 (got {})", flags.port));
    }
    o.port = flags.port;
  } else if (auto value = first_env({"NIM_HTTP_API_PORT", "NIM_SERVER_PORT"})) {
    o.environment_used.push_back(value->name);
    AIRLOCK_ASSIGN_OR_RETURN(o.port, parse_port(value->value, value->name));
  }

  if (!flags.api_key_file.empty()) {
    AIRLOCK_ASSIGN_OR_RETURN(std::vector<std::string> keys, read_api_key_file(flags.api_key_file));
    o.api_keys.insert(o.api_keys.end(), keys.begin(), keys.end());
    o.api_key_sources.push_back(flags.api_key_file);
  }
  if (auto value = get_env("AIRLOCK_API_KEYS")) {
    std::vector<std::string> keys = parse_api_key_list(*value);
    o.api_keys.insert(o.api_keys.end(), keys.begin(), keys.end());
    o.api_key_sources.push_back("AIRLOCK_API_KEYS");
  }
  // Keys are secrets: no log line or error may show them.
  for (const std::string& key : o.api_keys) register_secret(key);
  o.metrics_require_key = flags.metrics_require_key;
  if (o.metrics_require_key && o.api_keys.empty()) {
    return invalid_argument("--metrics-require-key needs API keys (--api-key-file or AIRLOCK_API_KEYS)");
  }

  if (flags.tls_cert.empty() != flags.tls_key.empty()) {
    return invalid_argument("--tls-cert and --tls-key go together: give both PEM files, or neither");
  }
  if (!flags.tls_cert.empty()) o.tls = net::TlsOptions{flags.tls_cert, flags.tls_key};

  if (!flags.verify.empty()) {
    AIRLOCK_ASSIGN_OR_RETURN(o.verify, sync::parse_verify_mode(flags.verify));
  }
  o.max_batch_tokens = flags.max_batch_tokens;
  if (o.max_batch_tokens != 0 && (o.max_batch_tokens < 16 || o.max_batch_tokens > (1u << 24))) {
    return invalid_argument(fmt::format("--max-batch-tokens must be between 16 and {} (got {})", 1u << 24, o.max_batch_tokens));
  }
  o.max_batch_requests = flags.max_batch_requests;
  if (flags.max_concurrent_requests != 0) o.max_concurrent_requests = flags.max_concurrent_requests;
  if (o.max_concurrent_requests > 1'000'000) return invalid_argument("--max-concurrent-requests is at most 1000000");
  if (flags.max_client_batch_size != 0) o.max_client_batch_size = flags.max_client_batch_size;
  if (o.max_client_batch_size > 1'000'000) return invalid_argument("--max-client-batch-size is at most 1000000");
  if (flags.max_connections != 0) o.max_connections = flags.max_connections;
  if (o.max_connections < 16 || o.max_connections > 1'000'000) {
    return invalid_argument("--max-connections must be between 16 and 1000000");
  }
  if (!flags.payload_limit.empty()) {
    AIRLOCK_ASSIGN_OR_RETURN(o.payload_limit, parse_bytes(flags.payload_limit));
    if (o.payload_limit < 1024 || o.payload_limit > (std::uint64_t{1} << 30)) {
      return invalid_argument("--payload-limit must be between 1KiB and 1GiB");
    }
  }
  if (flags.threads < 0) return invalid_argument("--threads must be >= 0");
  o.threads = flags.threads;
  if (std::string precision = from(flags.precision, {"AIRLOCK_PRECISION"}); !precision.empty()) {
    o.precision = engine::parse_precision(precision);
    if (!o.precision) {
      return invalid_argument(fmt::format("{} must be {} (got \"{}\")",
                                          flags.precision.empty() ? "AIRLOCK_PRECISION" : "--precision",
                                          engine::kPrecisionNames, precision));
    }
  }
  if (flags.executors < 0 || flags.executors > 64) return invalid_argument("--executors must be between 1 and 64");
  if (flags.executors != 0) o.executors = flags.executors;
  if (flags.shutdown_timeout_s < 0) return invalid_argument("--shutdown-timeout must be >= 0");
  if (flags.shutdown_timeout_s > 0) {
    o.shutdown_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(flags.shutdown_timeout_s * 1000));
  }
  return o;
}

}  // namespace airlock::server
