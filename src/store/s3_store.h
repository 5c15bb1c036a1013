// S3Store: `s3://bucket/prefix` on AWS S3 or any S3-compatible server (MinIO, Ceph, s3rver),
// signed with airlock's own SigV4 (x-amz-content-sha256 on every request). Large objects go
// up as multipart uploads with parallel parts (never more than 10,000 of them) and come down
// as parallel ranged GETs; listings page through ListObjectsV2. airlock's sha256 of an object
// is stored as the x-amz-meta-sha256 header, so an interrupted push can trust what is there.
#pragma once

#include <memory>
#include <string>

#include "net/http_client.h"
#include "store/aws_credentials.h"
#include "store/s3_settings.h"
#include "store/store.h"
#include "store/xml.h"

namespace airlock::store {

class S3Store final : public Store {
 public:
  // `credentials` null: anonymous (unsigned) requests.
  S3Store(std::string bucket, std::string prefix, S3Settings settings, std::shared_ptr<CredentialProvider> credentials,
          std::shared_ptr<net::HttpClient> client);

  std::string display_uri() const override;
  Capabilities capabilities() const override;
  Result<std::optional<ObjectInfo>> stat(std::string_view key) override;
  Result<ListPage> list_page(std::string_view prefix, const ListOptions& options,
                             const std::optional<std::string>& token) override;
  Status read(std::string_view key, const ReadOptions& options, const ByteSink& sink) override;
  Status write(std::string_view key, const ByteSource& source, const WriteOptions& options) override;
  Status remove(std::string_view key) override;
  Result<std::size_t> abort_stale_uploads(std::string_view prefix) override;

  const S3Settings& settings() const { return settings_; }

 private:
  net::HttpRequest request(std::string method, std::string_view full_key, std::string_view query = "") const;
  Error error_for(const net::HttpResponse& response, std::string_view full_key) const;
  Status put_single(const std::string& full_key, const ByteSource& source, const WriteOptions& options);
  Status put_multipart(const std::string& full_key, const ByteSource& source, const WriteOptions& options);
  Result<std::size_t> abort_uploads_page(const std::string& full_prefix, std::string& key_marker,
                                         std::string& upload_marker, bool& more);

  std::string bucket_;
  std::string prefix_;  // "" or ending in '/'
  S3Settings settings_;
  std::shared_ptr<CredentialProvider> credentials_;
  std::shared_ptr<net::HttpClient> client_;
};

// The parts of S3 answers the store reads, exposed for unit tests.
struct S3ListResult {
  std::vector<ObjectInfo> objects;  // full keys
  std::vector<std::string> prefixes;
  bool truncated = false;
  std::string next_token;
};
Result<S3ListResult> parse_list_objects_v2(std::string_view xml);

struct S3Upload {
  std::string key;
  std::string upload_id;
};
struct S3UploadList {
  std::vector<S3Upload> uploads;
  bool truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};
Result<S3UploadList> parse_list_multipart_uploads(std::string_view xml);

}  // namespace airlock::store
