#include "store/store_factory.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/log.h"
#include "core/strings.h"
#include "store/aws_credentials.h"
#include "store/azure_store.h"
#include "store/file_store.h"
#include "store/s3_store.h"

namespace airlock::store {
namespace {

Result<std::unique_ptr<Store>> open_file(const Uri& uri, const StoreConfig&) {
  if (uri.path.empty()) return invalid_argument("a file store needs a directory path");
  return std::unique_ptr<Store>(std::make_unique<FileStore>(uri.path));
}

Result<std::unique_ptr<Store>> open_s3(const Uri& uri, const StoreConfig& config) {
  AIRLOCK_TRY(validate_bucket_name(uri.host));
  if (uri.port)
    return invalid_argument("an s3:// URI names a bucket, not a host and port; use --endpoint-url for the server");
  AIRLOCK_ASSIGN_OR_RETURN(S3Settings settings, resolve_s3_settings(config.s3));
  std::shared_ptr<net::HttpClient> client = config.client;
  if (!client) {
    AIRLOCK_ASSIGN_OR_RETURN(client, http_client_for(config, settings.verify_tls, settings.ca_bundle));
  }
  std::shared_ptr<CredentialProvider> credentials;
  if (!settings.anonymous) {
    CredentialOptions options;
    options.profile = config.s3.profile;
    options.region = settings.region;
    options.http = client->options();
    options.http.event_loops = 1;
    AIRLOCK_ASSIGN_OR_RETURN(credentials, resolve_aws_credentials(options));
    log::debug("S3 credentials from {}", credentials->source());
  }
  std::string prefix = uri.path;
  while (!prefix.empty() && prefix.front() == '/') prefix.erase(prefix.begin());
  return std::unique_ptr<Store>(
      std::make_unique<S3Store>(uri.host, prefix, std::move(settings), std::move(credentials), std::move(client)));
}

Result<std::unique_ptr<Store>> open_https(const Uri& uri, const StoreConfig& config) {
  if (!uri.query.empty()) {
    return invalid_argument(
        fmt::format("{}: a query string is not supported in an https store URI; give credentials "
                    "with --http-user or --http-token",
                    uri.to_string()));
  }
  HttpAuth auth = config.http;
  if (!uri.userinfo.empty() && auth.user.empty() && auth.bearer.empty()) {
    auto colon = uri.userinfo.find(':');
    auth.user = uri.userinfo.substr(0, colon);
    if (colon != std::string::npos) auth.password = uri.userinfo.substr(colon + 1);
  }
  Uri base = uri;
  base.userinfo.clear();
  std::shared_ptr<net::HttpClient> client = config.client;
  if (!client) {
    AIRLOCK_ASSIGN_OR_RETURN(client, http_client_for(config));
  }
  std::string url = base.to_string();
  if (url.back() != '/') url += '/';
  return std::unique_ptr<Store>(std::make_unique<HttpsStore>(url, std::move(auth), std::move(client)));
}

}  // namespace

Result<std::shared_ptr<net::HttpClient>> http_client_for(const StoreConfig& config, std::optional<bool> verify_tls,
                                                         const std::string& ca_bundle_fallback) {
  net::HttpClientOptions options;
  options.ca_bundle = !config.ca_bundle.empty() ? config.ca_bundle : ca_bundle_fallback;
  options.insecure = config.insecure || (verify_tls.has_value() && !*verify_tls);
  options.max_transfers = std::max(config.max_transfers, 1);
  options.max_transfers_per_host = options.max_transfers;
  // Hashing and file writes happen on the callers' threads; one loop keeps up with loopback
  // speeds, a second one helps when TLS takes a core.
  options.event_loops = 2;
  AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<net::HttpClient> client, net::HttpClient::create(std::move(options)));
  return std::shared_ptr<net::HttpClient>(std::move(client));
}

const std::vector<StoreBackend>& store_backends() {
  static const std::vector<StoreBackend> backends = {
      {"file", [](const Uri& uri) { return uri.scheme == "file"; }, open_file},
      {"s3", [](const Uri& uri) { return uri.scheme == "s3"; }, open_s3},
      {"gs", [](const Uri& uri) { return uri.scheme == "gs"; }, open_gcs},
      {"webhdfs", is_webhdfs_uri, open_webhdfs},
      {"azure", is_azure_blob_uri, open_azure},
      // Host-specific HTTPS backends (Azure Blob) go above this line.
      {"https", [](const Uri& uri) { return uri.scheme == "https" || uri.scheme == "http"; }, open_https},
  };
  return backends;
}

Result<std::unique_ptr<Store>> open_store(std::string_view text, const StoreConfig& config) {
  AIRLOCK_ASSIGN_OR_RETURN(Uri uri, parse_uri(text));
  for (const StoreBackend& backend : store_backends()) {
    if (backend.matches(uri)) {
      auto store = backend.open(uri, config);
      if (!store.ok()) return store.error().with_context("opening " + uri.to_string());
      return store;
    }
  }
  std::vector<std::string> names;
  for (const StoreBackend& backend : store_backends()) names.push_back(backend.name);
  return Error(ErrorCode::kUnsupported, fmt::format("'{}' is not a store airlock can open ({}://...); known: {}",
                                                    uri.to_string(), uri.scheme, fmt::join(names, ", ")));
}

std::optional<ArchiveLocation> split_archive_uri(std::string_view uri) {
  std::string_view path = uri;
  if (auto q = path.find_first_of("?#"); q != std::string_view::npos) path = path.substr(0, q);
  if (path.empty() || path.back() == '/') return std::nullopt;
  auto slash = path.rfind('/');
  if (auto scheme_end = path.find("://");
      scheme_end != std::string_view::npos && (slash == std::string_view::npos || slash <= scheme_end + 2)) {
    return std::nullopt;  // "s3://name.tar" is a bucket, not an archive
  }
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const std::string lowered = to_lower(name);
  static const std::vector<std::string> kSuffixes = {".tar", ".tar.gz", ".tgz", ".tar.zst", ".tzst", ".zip"};
  bool archive = std::any_of(kSuffixes.begin(), kSuffixes.end(), [&](const std::string& suffix) {
    return lowered.size() > suffix.size() && lowered.ends_with(suffix);
  });
  if (!archive) return std::nullopt;
  ArchiveLocation location;
  location.key = std::string(name);
  location.folder_uri = slash == std::string_view::npos ? std::string(".") : std::string(uri.substr(0, slash + 1));
  // "s3://bucket/x.tar": the folder is the bucket root; a local "./x.tar" the directory ".".
  return location;
}

}  // namespace airlock::store
