#include "cli/store_options.h"

#include <signal.h>

#include <cstdio>

#include "core/units.h"

namespace airlock::cli {
namespace {

std::atomic<bool>* g_interrupted = nullptr;

void on_interrupt(int signal_number) {
  if (g_interrupted != nullptr && !g_interrupted->load()) {
    g_interrupted->store(true);
    return;
  }
  ::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

}  // namespace

void StoreOptions::add_to(CLI::App& command, const std::string& aws_profile_flag) {
  add_object_store_flags(command, aws_profile_flag);
  command.add_option("--http-user", http_user, "Basic auth for https:// stores, 'user' or 'user:password'")
      ->envname("AIRLOCK_HTTP_USER");
  command.add_option("--http-password", http_password, "Basic auth password (better: AIRLOCK_HTTP_PASSWORD)")
      ->envname("AIRLOCK_HTTP_PASSWORD");
  command.add_option("--http-token", http_token, "Bearer token for https:// stores (better: AIRLOCK_HTTP_TOKEN)")
      ->envname("AIRLOCK_HTTP_TOKEN");
  command.add_option("--ca-bundle", ca_bundle,
                     "PEM file of CAs to trust for TLS (also AWS_CA_BUNDLE for S3, SSL_CERT_FILE)");
  command.add_flag("--insecure", insecure, "Do not verify TLS certificates (also S3_VERIFY_SSL=0)");
}

void StoreOptions::add_object_store_flags(CLI::App& command, const std::string& aws_profile_flag) {
  command.add_option("--endpoint-url", endpoint_url,
                     "S3-compatible endpoint (MinIO, Ceph, ...; also AWS_ENDPOINT_URL, S3_ENDPOINT), or the "
                     "GCS (also STORAGE_EMULATOR_HOST) or Azure Blob service endpoint");
  command.add_option("--region", region, "S3 region; default AWS_REGION, AWS_DEFAULT_REGION, the profile's, us-east-1");
  command.add_option(aws_profile_flag, profile,
                     "AWS profile from ~/.aws/credentials and ~/.aws/config (default AWS_PROFILE)");
  command.add_option("--s3-addressing", s3_addressing, "path, virtual or auto (S3 bucket addressing style)")
      ->check(CLI::IsMember({"path", "virtual", "auto"}));
  command.add_flag("--no-sign-request", no_sign_request, "Send S3 requests unsigned (public buckets)");
  command.add_option("--webhdfs-port", webhdfs_port,
                     "The namenode's WebHDFS HTTP port for hdfs:// URIs, whose port is the RPC port "
                     "(default AIRLOCK_WEBHDFS_PORT, else 9870; 14000 with --httpfs)")
      ->check(CLI::Range(1, 65535));
  command.add_flag("--httpfs", httpfs,
                   "Reach HDFS through an HttpFS gateway (no datanode redirects; also AIRLOCK_HTTPFS=1)");
  command.add_option("--delegation-token", delegation_token,
                     "HDFS delegation token for webhdfs:// and hdfs:// (better: HADOOP_TOKEN)");
}

store::StoreConfig StoreOptions::config(int jobs) const {
  store::StoreConfig config;
  config.s3.endpoint_url = endpoint_url;
  config.s3.region = region;
  config.s3.profile = profile;
  config.s3.addressing = s3_addressing;
  config.s3.no_sign_request = no_sign_request;
  config.http.user = http_user;
  config.http.password = http_password;
  if (auto colon = http_user.find(':'); colon != std::string::npos && http_password.empty()) {
    config.http.user = http_user.substr(0, colon);
    config.http.password = http_user.substr(colon + 1);
  }
  config.http.bearer = http_token;
  config.ca_bundle = ca_bundle;
  config.insecure = insecure;
  if (webhdfs_port > 0) config.webhdfs.port = webhdfs_port;
  config.webhdfs.httpfs = httpfs;
  config.webhdfs.delegation_token = delegation_token;
  config.max_transfers = std::max(jobs, 1) * 4 + 4;
  return config;
}

void TransferFlags::add_to(CLI::App& command, bool uploads) {
  command.add_option("-j,--jobs", jobs, "Files transferred at once")->capture_default_str()->check(CLI::Range(1, 256));
  command.add_option("--part-parallel", part_parallel, "Parts of one large object in flight")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  command.add_option("--part-size", part_size, "Size of multipart parts and ranged reads")->capture_default_str();
  if (uploads) {
    command.add_option("--multipart-threshold", multipart_threshold, "Objects larger than this go up in parts (S3)")
        ->capture_default_str();
  }
  command.add_flag("--json", json, "Print a JSON summary on stdout");
}

Result<sync::TransferOptions> TransferFlags::resolve(const GlobalOptions& global) const {
  sync::TransferOptions options;
  options.jobs = jobs;
  options.part_parallel = part_parallel;
  AIRLOCK_ASSIGN_OR_RETURN(options.part_size, parse_bytes(part_size));
  AIRLOCK_ASSIGN_OR_RETURN(options.multipart_threshold, parse_bytes(multipart_threshold));
  if (options.part_size < 1024 * 1024) return invalid_argument("--part-size must be at least 1MiB");
  if (global.quiet) options.progress.style = ProgressStyle::kQuiet;
  options.cancel = interrupt_flag();
  return options;
}

std::shared_ptr<std::atomic<bool>> interrupt_flag() {
  static std::shared_ptr<std::atomic<bool>> flag = [] {
    auto created = std::make_shared<std::atomic<bool>>(false);
    g_interrupted = created.get();
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
    return created;
  }();
  return flag;
}

void print(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

}  // namespace airlock::cli
