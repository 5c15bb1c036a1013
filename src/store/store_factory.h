// Opening a store from a URI: a table of backends, each with a matcher and an opener, tried in
// order (specific host patterns such as Azure's *.blob.core.windows.net must come before the
// generic https:// backend). A new backend (gs://, Azure, webhdfs://) adds one entry to
// store_backends() in store_factory.cpp and reads what it needs from StoreConfig.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/uri.h"
#include "net/http_client.h"
#include "store/gcs_store.h"
#include "store/https_store.h"
#include "store/s3_settings.h"
#include "store/store.h"
#include "store/webhdfs_store.h"

namespace airlock::store {

// Settings from flags and environment that backends read; each takes what applies to it.
struct StoreConfig {
  S3Options s3;   // --endpoint-url, --region, --profile, --s3-addressing, --no-sign-request
  HttpAuth http;  // --http-user / --http-token (and their variables)
  // gs:// HMAC keys and WebHDFS settings (--webhdfs-port, --httpfs, --delegation-token). gs://
  // and Azure also read s3.endpoint_url (--endpoint-url) and s3.no_sign_request.
  GcsOptions gcs;
  WebHdfsOptions webhdfs;
  // TLS for every HTTP backend; these win over S3_VERIFY_SSL and AWS_CA_BUNDLE.
  std::string ca_bundle;
  bool insecure = false;
  // HTTP transfers in flight at once (parts of large objects included).
  int max_transfers = 64;
  // Shared between stores when set (tests, and opening source and destination together).
  std::shared_ptr<net::HttpClient> client;
};

struct StoreBackend {
  std::string name;
  std::function<bool(const Uri& uri)> matches;
  std::function<Result<std::unique_ptr<Store>>(const Uri& uri, const StoreConfig& config)> open;
};

// The backends, in the order they are tried.
const std::vector<StoreBackend>& store_backends();

// Opens the store rooted at `uri` (a directory: "s3://b/models/llama" is the prefix
// "models/llama/"). Errors name the URI forms that are understood.
Result<std::unique_ptr<Store>> open_store(std::string_view uri, const StoreConfig& config);

// An HTTP client with the config's TLS settings (plus the environment's, for S3), for backends.
Result<std::shared_ptr<net::HttpClient>> http_client_for(const StoreConfig& config, std::optional<bool> verify_tls = {},
                                                         const std::string& ca_bundle_fallback = "");

// A URI whose last segment is an archive (.tar, .tar.gz, .tgz, .tar.zst, .tzst, .zip): the
// URI of the folder that holds it and the archive's name. nullopt for anything else.
struct ArchiveLocation {
  std::string folder_uri;
  std::string key;
};
std::optional<ArchiveLocation> split_archive_uri(std::string_view uri);

}  // namespace airlock::store
