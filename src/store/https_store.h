// HttpsStore: any web server as a store, `https://host/path` (or http:// on a trusted network).
// A web server cannot list, so a pushed tree is read through its index
// (<path>/.airlock/index.json): GETs of the files, ranged and parallel. Writing uses WebDAV
// PUT (nginx with dav_methods, Apache mod_dav, ...) where the server allows it, creating
// missing collections with MKCOL when the server asks for them (409). Basic or Bearer
// credentials go only to the origin named in the URI.
#pragma once

#include <memory>
#include <string>

#include "net/http_client.h"
#include "store/store.h"

namespace airlock::store {

struct HttpAuth {
  std::string user;  // Basic auth when set
  std::string password;
  std::string bearer;  // Bearer token when set (wins over Basic)
};

class HttpsStore final : public Store {
 public:
  // `base_url`: scheme://host[:port]/path, without query or credentials.
  HttpsStore(std::string base_url, HttpAuth auth, std::shared_ptr<net::HttpClient> client);

  std::string display_uri() const override;
  Capabilities capabilities() const override;
  Result<std::optional<ObjectInfo>> stat(std::string_view key) override;
  Result<ListPage> list_page(std::string_view prefix, const ListOptions& options,
                             const std::optional<std::string>& token) override;
  Status read(std::string_view key, const ReadOptions& options, const ByteSink& sink) override;
  Status write(std::string_view key, const ByteSource& source, const WriteOptions& options) override;
  Status remove(std::string_view key) override;

 private:
  std::string url_for(std::string_view key) const;
  net::HttpRequest request(std::string method, std::string_view key) const;
  Error error_for(const net::HttpResponse& response, std::string_view key) const;
  Status make_collections(std::string_view key);

  std::string base_url_;  // ends in '/'
  HttpAuth auth_;
  std::shared_ptr<net::HttpClient> client_;
};

}  // namespace airlock::store
