// Finding out where a file's bytes are and what they are before downloading them: one request
// (HEAD, or GET of the first byte) with redirects followed here, so that the caller learns the
// final location (a CDN's presigned URL), the size, the ETag, whether ranges work, and the hub
// headers (X-Repo-Commit, X-Linked-Etag, X-Linked-Size) that sit on the first answer.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "fetch/blob_download.h"
#include "net/http_client.h"

namespace airlock::fetch {

struct RemoteFile {
  std::string url;          // where to GET the bytes
  bool same_origin = true;  // `url` is on the origin first asked: credentials may go with it
  std::optional<std::uint64_t> size;
  RangeSupport ranges = RangeSupport::kUnknown;
  std::string etag;         // X-Linked-Etag, else ETag, normalized; "" when none
  std::string repo_commit;  // X-Repo-Commit (Hugging Face)
};

struct ProbeOptions {
  bool head = false;               // HEAD (Hugging Face) instead of GET of byte 0
  bool stop_at_other_origin = true;  // a redirect elsewhere is the download location (hub -> CDN)
  net::HttpHeaders headers;
  net::RequestSigner signer;       // credentials for the first origin only
  int max_redirects = 10;
  // Turns a final non-2xx answer into an error a person can act on (names the variable to set).
  std::function<Error(const net::HttpResponse&)> explain;
};

Result<RemoteFile> probe_remote(net::HttpClient& client, const std::string& url, const ProbeOptions& options);

}  // namespace airlock::fetch
