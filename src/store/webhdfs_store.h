// WebHdfsStore: HDFS over its REST API, for webhdfs://host:port/path (the namenode's HTTP port,
// default 9870), swebhdfs://host:port/path (TLS, default 9871) and hdfs://host:port/path.
//
// hdfs:// names the namenode's RPC port, which speaks Hadoop RPC, not HTTP: airlock keeps the
// host and reaches the same cluster through its WebHDFS HTTP port (--webhdfs-port,
// AIRLOCK_WEBHDFS_PORT, default 9870), or through an HttpFS gateway (--httpfs or
// AIRLOCK_HTTPFS=1; default port 14000) for clusters whose datanodes pods cannot reach.
//
// Writes: CREATE in two steps (a PUT without data answered by 307 with a datanode Location,
// then the bytes to that Location, 201 Created) to a temporary name beside the target, then
// RENAME over it, so that readers see the old or the whole new file. HttpFS takes CREATE in
// one step (data=true). Reads: OPEN with offset/length (redirected to a datanode), continued
// from where a broken transfer stopped, parallel for large files. Listings: LISTSTATUS_BATCH
// pages per directory (LISTSTATUS where it is missing), walked so that keys come in byte order.
//
// Auth: simple (user.name=HADOOP_USER_NAME, else the login name), a delegation token
// (--delegation-token / HADOOP_TOKEN), or Kerberos SPNEGO through libcurl's GSS-API (a ticket in
// KRB5CCNAME, or KERBEROS_KEYTAB + KERBEROS_PRINCIPAL, with which airlock runs kinit into a
// private credential cache of its own, removed at exit, and again when that ticket expires during
// a long run); impersonation with HADOOP_PROXY_USER
// (doas=). With Kerberos the namenode's hadoop.auth cookie is replayed (one SPNEGO exchange per
// process, not per request) and never shown; the datanode gets the delegation token the
// namenode put in its redirect.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <filesystem>
#include <string>

#include "core/json.h"
#include "core/uri.h"
#include "net/http_client.h"
#include "store/store.h"

namespace airlock::store {

inline constexpr int kWebHdfsDefaultPort = 9870;
inline constexpr int kSwebHdfsDefaultPort = 9871;
inline constexpr int kHttpFsDefaultPort = 14000;

struct StoreConfig;

struct WebHdfsOptions {
  std::optional<int> port;       // --webhdfs-port: the HTTP port for hdfs:// URIs
  bool httpfs = false;           // --httpfs
  std::string delegation_token;  // --delegation-token
};

struct WebHdfsSettings {
  std::string base_url;     // scheme://host:port/webhdfs/v1
  std::string host;         // the namenode's host as the URI names it (its HTTP/<host> principal)
  std::string root;         // absolute HDFS path of the store's root, ending in '/'
  std::string display;      // the URI as given (scheme://host:port/path/)
  std::string port_source;  // how the HTTP port was chosen (for messages)
  bool httpfs = false;
  std::string user;  // user.name (simple auth); empty with a token or Kerberos
  std::string user_source;
  std::string proxy_user;  // doas=
  std::string delegation;  // delegation=
  std::string delegation_source;
  bool kerberos = false;
  std::string kerberos_source;
  std::string kerberos_principal;  // KERBEROS_PRINCIPAL when a keytab logs in
  std::string kerberos_keytab;     // KERBEROS_KEYTAB
};

// Resolves a webhdfs://, swebhdfs:// or hdfs:// URI and the options and environment into where
// and how to talk. With KERBEROS_KEYTAB + KERBEROS_PRINCIPAL it runs kinit once (needs the
// Kerberos client tools) into a private credential cache that KRB5CCNAME then names.
Result<WebHdfsSettings> resolve_webhdfs_settings(const Uri& uri, const WebHdfsOptions& options);

bool is_webhdfs_uri(const Uri& uri);
// The store for a webhdfs://, swebhdfs:// or hdfs:// URI (store_factory.cpp's table), with
// StoreConfig::webhdfs and the TLS settings.
Result<std::unique_ptr<Store>> open_webhdfs(const Uri& uri, const StoreConfig& config);

class WebHdfsStore final : public Store {
 public:
  WebHdfsStore(WebHdfsSettings settings, std::shared_ptr<net::HttpClient> client);

  std::string display_uri() const override;
  Capabilities capabilities() const override;
  Result<std::optional<ObjectInfo>> stat(std::string_view key) override;
  Result<ListPage> list_page(std::string_view prefix, const ListOptions& options,
                             const std::optional<std::string>& token) override;
  Status read(std::string_view key, const ReadOptions& options, const ByteSink& sink) override;
  Status write(std::string_view key, const ByteSource& source, const WriteOptions& options) override;
  Status remove(std::string_view key) override;
  // Deletes the temporary files of writes that never reached their RENAME.
  Result<std::size_t> abort_stale_uploads(std::string_view prefix) override;

 private:
  struct Entry {
    std::string name;
    bool directory = false;
    std::uint64_t size = 0;
  };
  std::string op_url(std::string_view path, std::string_view op, std::string_view extra = "") const;
  net::HttpRequest request(std::string method, std::string url) const;
  Error error_for(const net::HttpResponse& response, std::string_view path) const;
  // Sends to the namenode, keeping the hadoop.auth cookie it hands out with Kerberos.
  Result<net::HttpResponse> send(net::HttpRequest request);
  Result<net::HttpResponse> send(net::HttpRequest request, net::HttpSink sink);
  Result<net::HttpResponse> send_to_namenode(net::HttpRequest request, std::optional<net::HttpSink> sink);
  void remember_cookie(const net::HttpResponse& response);
  // kinit again from the keytab after a 401 (the ticket expired during a long run); false when
  // that cannot help.
  bool renew_ticket(std::uint64_t seen_generation);
  // What to do when the namenode refuses the Kerberos credentials (401 or 403).
  std::string kerberos_hint(const net::HttpResponse& response) const;
  Result<std::optional<std::vector<Entry>>> list_directory(const std::string& path);
  Status walk(const std::string& relative_dir, const std::optional<std::string>& after, std::size_t wanted,
              std::vector<ObjectInfo>& out, bool include_temporary);
  Status read_range(const std::string& path, std::uint64_t offset, std::uint64_t length, bool to_end,
                    const ByteSink& sink, const std::shared_ptr<const std::atomic<bool>>& cancel);
  Status create(const std::string& path, const ByteSource& source, const WriteOptions& options);
  Status make_directories(const std::string& path);
  Result<bool> boolean_op(std::string method, const std::string& path, std::string_view op, std::string_view extra);

  WebHdfsSettings settings_;
  std::shared_ptr<net::HttpClient> client_;
  std::mutex renew_mutex_;
  std::atomic<std::uint64_t> ticket_generation_{0};  // keytab logins since the first
  mutable std::mutex cookie_mutex_;
  std::string auth_cookie_;  // hadoop.auth, replayed to the namenode (Kerberos only)
  std::mutex made_mutex_;
  std::set<std::string> made_directories_;
};

// The parts of WebHDFS answers the store reads, for unit tests and the fuzzer.
struct WebHdfsFileStatus {
  std::string path_suffix;
  std::string type;  // FILE, DIRECTORY, SYMLINK
  std::uint64_t length = 0;
};
struct WebHdfsListing {
  std::vector<WebHdfsFileStatus> entries;
  std::uint64_t remaining = 0;  // LISTSTATUS_BATCH's remainingEntries
};
// Either {"FileStatuses": ...} (LISTSTATUS) or {"DirectoryListing": ...} (LISTSTATUS_BATCH).
Result<WebHdfsListing> parse_webhdfs_listing(std::string_view body);
Result<WebHdfsFileStatus> parse_webhdfs_file_status(std::string_view body);
// {"RemoteException": {"exception", "javaClassName", "message"}}: the exception's short name and
// message; empty when the body is not one.
std::pair<std::string, std::string> parse_remote_exception(std::string_view body);

}  // namespace airlock::store
