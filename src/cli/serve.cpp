// `airlock serve`: the offline model runtime. Pulls the cache from a model profiles path on
// object storage, selects the profile for this hardware, loads the model and serves the
// OpenAI/NIM API until SIGTERM. Flags and environment names follow NIM's so that deployments
// (and airlock's manager) start it the same way.
#include "server/serve_runtime.h"

#include "cli/command.h"
#include "cli/store_options.h"
#include "server/serve_options.h"

namespace airlock::cli {
namespace {

struct ServeCommandFlags {
  server::ServeFlags serve;
  StoreOptions store;
  int pull_jobs = 8;
};

Status run_serve_command(const ServeCommandFlags& flags, const GlobalOptions& global) {
  AIRLOCK_ASSIGN_OR_RETURN(server::ServeOptions options, server::resolve_serve_options(flags.serve));
  if (flags.pull_jobs < 1 || flags.pull_jobs > 256) return invalid_argument("--pull-jobs must be between 1 and 256");
  options.store = flags.store.config(flags.pull_jobs);
  options.pull_jobs = flags.pull_jobs;
  // A container log is not a terminal: progress as plain lines, never bars.
  options.progress.style = global.quiet ? ProgressStyle::kQuiet : ProgressStyle::kLines;
  return server::run_serve(options);
}

}  // namespace

void add_serve_command(CLI::App& app, CommandContext context) {
  auto flags = std::make_shared<ServeCommandFlags>();
  server::ServeFlags& f = flags->serve;
  StoreOptions& s = flags->store;
  CLI::App* command = app.add_subcommand(
      "serve", "Serve a model offline from a model profiles path (pull + verify the cache, select the profile, load, "
               "answer the OpenAI/NIM API)");
  command->add_option("--model-profiles-path", f.model_profiles_path,
                      "Store the cache was pushed to: s3://bucket/prefix, https://host/path, file:///dir (default "
                      "AIRLOCK_MODEL_PROFILES_PATH; none: serve the local cache as it is)");
  command->add_option("--cache-dir", f.cache_dir, "Local cache (default AIRLOCK_CACHE, NIM_CACHE_PATH, ~/.cache/airlock)");
  command->add_option("--served-model-name", f.served_model_name,
                      "Model name in /v1/models and requests (default NIM_SERVED_MODEL_NAME; the profile's model)");
  command->add_option("--host", f.host, "Address to listen on (default 0.0.0.0)");
  command->add_option("--port", f.port, "Port (default NIM_HTTP_API_PORT, NIM_SERVER_PORT, 8000)");
  command->add_option("--api-key-file", f.api_key_file,
                      "File of accepted API keys, one per line (also AIRLOCK_API_KEYS, comma-separated)");
  command->add_flag("--metrics-require-key", f.metrics_require_key, "Require an API key for /v1/metrics too");
  command->add_option("--tls-cert", f.tls_cert, "PEM certificate (chain) to serve HTTPS");
  command->add_option("--tls-key", f.tls_key, "PEM private key of --tls-cert");
  command->add_option("--verify", f.verify, "How the pulled cache is checked: full (sha256, default) or size")
      ->check(CLI::IsMember({"full", "size"}));
  command->add_option("--max-batch-tokens", f.max_batch_tokens, "Token budget of one merged batch (default 16384)");
  command->add_option("--max-batch-requests", f.max_batch_requests, "Requests merged into one batch at most (default: no cap)");
  command->add_option("--max-concurrent-requests", f.max_concurrent_requests,
                      "Requests queued or running at once; beyond it 429 at once (default 512)");
  command->add_option("--max-client-batch-size", f.max_client_batch_size,
                      "Inputs (or passages) per request at most; beyond it 413 (default 2048)");
  command->add_option("--max-connections", f.max_connections, "Open connections at most (default 4096)");
  command->add_option("--payload-limit", f.payload_limit, "Request body size at most, e.g. 2MB (default 2MB); 413 beyond");
  command->add_option("--threads", f.threads, "Engine CPU threads (default: all cores)");
  command->add_option("--precision", f.precision,
                      "fp32, bf16, fp16 or int8 instead of the profile's precision tag (default AIRLOCK_PRECISION; "
                      "int8: CPUs with VNNI)");
  command->add_option("--executors", f.executors, "Batches prepared at once (default 2)");
  command->add_option("--shutdown-timeout", f.shutdown_timeout_s, "Seconds to finish requests after SIGTERM (default 30)");
  command->add_option("--pull-jobs", flags->pull_jobs, "Files pulled at once")->capture_default_str();
  // The store flags of push/pull, where --profile (the AWS profile) becomes --aws-profile: here
  // --profile is the model profile, as NIM_MODEL_PROFILE is.
  s.add_to(*command, "--aws-profile");
  command->add_option("--profile", f.profile, "Model profile id or description (default NIM_MODEL_PROFILE; automatic)");
  command->footer(
      "Environment: NIM_CACHE_PATH, NIM_MODEL_PROFILE, NIM_SERVED_MODEL_NAME, NIM_HTTP_API_PORT, AIRLOCK_MODEL_PROFILES_PATH,\n"
      "AIRLOCK_API_KEYS, AIRLOCK_PRECISION. NGC_API_KEY is ignored: serve never contacts a model hub, only the model profiles path.\n"
      "Routes: POST /v1/embeddings, /v1/ranking, /rerank; GET /v1/models, /v1/health/live, /v1/health/ready (503 until\n"
      "the model is loaded), /v1/metadata, /v1/manifest, /v1/metrics. SIGTERM: finish requests in flight, exit 0.");
  command->callback([flags, context] {
    context.action = [flags, &global = context.global] { return run_serve_command(*flags, global); };
  });
}

AIRLOCK_REGISTER_COMMAND(50, add_serve_command);

}  // namespace airlock::cli
