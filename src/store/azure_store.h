// AzureStore: Azure Blob block blobs under https://<account>.blob.core.windows.net/<container>/<prefix>,
// signed with SharedKey, a SAS token, or an OAuth bearer token (azure_credentials.h), with the
// x-ms-version airlock speaks. Small objects go up with one Put Blob; large ones as blocks
// (Put Block, several in flight, equal-length ids, at most 50,000) committed by Put Block List,
// which also sets the content type and airlock's sha256 (x-ms-meta-sha256). Listings page with
// List Blobs markers; reads are ranged GETs, parallel for large objects. Uncommitted blocks of
// an interrupted upload are invisible and discarded by the service after a week.
#pragma once

#include <memory>
#include <string>

#include "net/http_client.h"
#include "store/azure_credentials.h"
#include "store/store.h"

namespace airlock::store {

struct StoreConfig;

// The store for an Azure Blob URI (store_factory.cpp's table); --endpoint-url
// (StoreConfig::s3.endpoint_url) and --no-sign-request apply here too.
Result<std::unique_ptr<Store>> open_azure(const Uri& uri, const StoreConfig& config);

class AzureStore final : public Store {
 public:
  AzureStore(AzureTarget target, AzureAuth auth, std::shared_ptr<net::HttpClient> client);

  std::string display_uri() const override;
  Capabilities capabilities() const override;
  Result<std::optional<ObjectInfo>> stat(std::string_view key) override;
  Result<ListPage> list_page(std::string_view prefix, const ListOptions& options,
                             const std::optional<std::string>& token) override;
  Status read(std::string_view key, const ReadOptions& options, const ByteSink& sink) override;
  Status write(std::string_view key, const ByteSource& source, const WriteOptions& options) override;
  Status remove(std::string_view key) override;

  // Creates the container (tests and first-time setup); an existing one is fine.
  Status create_container();

 private:
  std::string url(std::string_view full_key, std::string_view query = "") const;
  net::HttpRequest request(std::string method, std::string_view full_key, std::string_view query = "") const;
  Error error_for(const net::HttpResponse& response, std::string_view full_key) const;
  Status put_blob(const std::string& full_key, const ByteSource& source, const WriteOptions& options);
  Status put_blocks(const std::string& full_key, const ByteSource& source, const WriteOptions& options);

  AzureTarget target_;
  AzureAuth auth_;
  std::shared_ptr<net::HttpClient> client_;
};

// The parts of a List Blobs answer the store reads (full names), for unit tests and the fuzzer.
struct AzureListResult {
  std::vector<ObjectInfo> objects;
  std::vector<std::string> prefixes;
  std::string next_marker;
};
Result<AzureListResult> parse_azure_list(std::string_view xml);

// Block ids of one upload: base64 of a fixed-length name (the service wants every id of a blob
// the same length), unique to the upload so that stale uncommitted blocks are never mixed in.
std::string azure_block_id(std::string_view upload_tag, std::uint64_t index);

}  // namespace airlock::store
