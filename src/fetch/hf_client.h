// The Hugging Face Hub protocol as download-to-cache uses it (shared/reference/storage-and-hub.md §2):
//   GET  $HF_ENDPOINT/api/models/<repo>/revision/<rev>?blobs=true   commit + files with sizes and ids
//   GET  $HF_ENDPOINT/api/models/<repo>/tree/<commit>?recursive=true  the same, paged by Link headers
//   HEAD $HF_ENDPOINT/<repo>/resolve/<commit>/<path>                 X-Repo-Commit, X-Linked-Etag/ETag,
//        X-Linked-Size; LFS files redirect to a CDN, which gets no Authorization header
// Revisions are percent-encoded with no safe characters (refs/pr/1 -> refs%2Fpr%2F1). The token
// is HF_TOKEN; errors name it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "fetch/hub_responses.h"
#include "fetch/remote_file.h"
#include "net/http_client.h"

namespace airlock::fetch {

struct HfSettings {
  std::string endpoint = "https://huggingface.co";
  std::optional<std::string> token;

  // HF_ENDPOINT, HF_TOKEN.
  static HfSettings from_environment();
};

class HfClient {
 public:
  HfClient(net::HttpClient& http, HfSettings settings);

  // The commit `revision` resolves to and the repo's files at it, with sizes and ids (from the
  // tree listing when the revision API leaves them out).
  Result<HfRevisionInfo> revision_info(const std::string& repo, const std::string& revision);
  // Every file of the repo at `commit`, following Link: rel="next" pages.
  Result<std::vector<HfFile>> list_tree(const std::string& repo, const std::string& commit);
  // HEAD of the file: its etag, size, commit and where its bytes are.
  Result<RemoteFile> locate(const std::string& repo, const std::string& commit, const std::string& path);

  net::HttpHeaders auth_headers() const;
  Error explain(const net::HttpResponse& response, const std::string& repo, const std::string& revision,
                const std::string& path) const;

 private:
  net::HttpClient& http_;
  HfSettings settings_;
};

}  // namespace airlock::fetch
