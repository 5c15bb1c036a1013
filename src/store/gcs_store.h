// GcsStore: `gs://bucket/prefix` over the Cloud Storage JSON API, with OAuth2 bearer tokens
// (gcs_credentials.h) or anonymously. Listings page with pageToken; reads are ranged GETs of
// `alt=media`, parallel for large objects; small objects go up in one multipart request with
// their metadata, large ones as a resumable upload in chunks of a multiple of 256 KiB (308
// answers carry what the server kept; after a failure the session is asked how far it got and
// the upload continues from there; the session URI is kept on disk while the upload runs, so a
// rerun after a kill continues it too). No parallel composite uploads: composite objects have no
// MD5, and airlock's sha256 travels as the object's custom metadata `sha256`.
//
// With HMAC keys (GCS_HMAC_ACCESS_ID / GCS_HMAC_SECRET) gs:// goes through the XML API's S3
// interoperability instead, reusing S3Store (open_gcs_hmac_store).
#pragma once

#include <memory>
#include <string>

#include "core/json.h"
#include "core/uri.h"
#include "net/http_client.h"
#include "store/gcs_upload_sessions.h"
#include "store/oauth_token.h"
#include "store/store.h"

namespace airlock::store {

struct StoreConfig;

inline constexpr std::string_view kGcsDefaultEndpoint = "https://storage.googleapis.com";

struct GcsOptions {
  // The HMAC keys of the XML API (interoperability mode); both or neither. Empty: the
  // GCS_HMAC_ACCESS_ID / GCS_HMAC_SECRET variables.
  std::string hmac_access_id;
  std::string hmac_secret;
};

struct GcsSettings {
  std::string endpoint;  // scheme://host[:port], no trailing slash
  std::string endpoint_source;
  bool emulator = false;  // STORAGE_EMULATOR_HOST: no credentials unless some are configured
};

// The endpoint: `endpoint_flag` (--endpoint-url), else STORAGE_EMULATOR_HOST (with or without a
// scheme; without one it is http://), else https://storage.googleapis.com.
Result<GcsSettings> resolve_gcs_settings(const std::string& endpoint_flag);

// Bucket names: 3-63 characters (up to 222 with dots) of a-z 0-9 - _ ., starting and ending with
// a letter or digit.
Status validate_gcs_bucket_name(std::string_view bucket);

class GcsStore final : public Store {
 public:
  // `credentials` null: anonymous requests.
  // `sessions` keeps resumable upload sessions across processes (gcs_upload_sessions.h).
  GcsStore(std::string bucket, std::string prefix, GcsSettings settings, std::shared_ptr<TokenSource> credentials,
           std::shared_ptr<net::HttpClient> client, GcsUploadSessions sessions = GcsUploadSessions({}));

  std::string display_uri() const override;
  Capabilities capabilities() const override;
  Result<std::optional<ObjectInfo>> stat(std::string_view key) override;
  Result<ListPage> list_page(std::string_view prefix, const ListOptions& options,
                             const std::optional<std::string>& token) override;
  Status read(std::string_view key, const ReadOptions& options, const ByteSink& sink) override;
  Status write(std::string_view key, const ByteSource& source, const WriteOptions& options) override;
  Status remove(std::string_view key) override;

 private:
  std::string object_url(std::string_view full_key) const;
  net::HttpRequest request(std::string method, std::string url) const;
  Error error_for(const net::HttpResponse& response, std::string_view full_key) const;
  Status put_multipart(const std::string& full_key, const ByteSource& source, const WriteOptions& options);
  Status put_resumable(const std::string& full_key, const ByteSource& source, const WriteOptions& options);
  Result<std::string> start_session(const std::string& full_key, const WriteOptions& options);

  std::string bucket_;
  std::string prefix_;  // "" or ending in '/'
  GcsSettings settings_;
  std::shared_ptr<TokenSource> credentials_;
  std::shared_ptr<net::HttpClient> client_;
  GcsUploadSessions sessions_;
};

// The store for a gs:// URI (store_factory.cpp's table): the JSON API with Google credentials,
// or the XML API with HMAC keys (StoreConfig::gcs, else GCS_HMAC_ACCESS_ID / GCS_HMAC_SECRET).
// --endpoint-url (StoreConfig::s3.endpoint_url) and --no-sign-request apply here too.
Result<std::unique_ptr<Store>> open_gcs(const Uri& uri, const StoreConfig& config);

// The parts of JSON API answers the store reads, exposed for unit tests and the fuzzer.
Result<ObjectInfo> parse_gcs_object(const Json& object);  // key = the full object name
struct GcsListResult {
  std::vector<ObjectInfo> objects;
  std::vector<std::string> prefixes;
  std::string next_page_token;
};
Result<GcsListResult> parse_gcs_list(std::string_view body);

// "bytes=0-1048575" (a 308's Range header) -> 1048576 bytes kept; no header -> 0.
Result<std::uint64_t> gcs_persisted_bytes(const std::optional<std::string>& range_header);

// The chunk size of a resumable upload: `preferred` (16 MiB when 0) rounded up to a multiple
// of 256 KiB, as the API requires for every chunk but the last.
std::uint64_t gcs_chunk_size(std::uint64_t preferred);

}  // namespace airlock::store
