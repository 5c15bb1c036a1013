// NGC's model REST API as download-to-cache uses it (shared/reference/nim-and-platform.md §11):
//   auth   GET $NGC_AUTH_ENDPOINT/token?service=ngc&scope=group/ngc:<org>[/<team>] with Basic
//          `$oauthtoken:<key>` -> {"token"}; `nvapi-` keys are used directly as Bearer tokens.
//   list   GET $NGC_API_ENDPOINT/v2/org/<org>[/team/<team>]/models/<model>/versions/<v>/files
//          ?page-size=500&page-number=N (paged; the `nim` org may answer 400 "Org contex missing",
//          then the paths come from the version's checksums.blake3)
//   file   GET …/versions/<v>/files/<path> -> a redirect to a presigned download URL
// The key comes from NGC_API_KEY, else NGC_CLI_API_KEY; errors name the variable to set.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/result.h"
#include "fetch/hub_responses.h"
#include "fetch/remote_file.h"
#include "fetch/source_uri.h"
#include "net/http_client.h"

namespace airlock::fetch {

struct NgcSettings {
  std::string api_endpoint = "https://api.ngc.nvidia.com";
  std::string auth_endpoint = "https://authn.nvidia.com";
  std::optional<EnvValue> key;  // the key and the variable it came from

  // NGC_API_ENDPOINT, NGC_AUTH_ENDPOINT, NGC_API_KEY / NGC_CLI_API_KEY.
  static NgcSettings from_environment();
};

class NgcClient {
 public:
  NgcClient(net::HttpClient& http, NgcSettings settings);

  // Every file of the model version `ref` names (its `file` is ignored), with sizes where NGC
  // gives them.
  Result<std::vector<NgcFile>> list_files(const SourceRef& ref);

  // Where the bytes of `path` in the version are: follows the API's redirect to the download
  // host (without credentials there).
  Result<RemoteFile> locate(const SourceRef& ref, const std::string& path);

  // Makes sure a token for the version's org/team is cached and fresh (call before long work).
  Status refresh_token(const SourceRef& ref);
  // Adds the cached Bearer token for `ref`'s scope (no network: signers run on I/O threads).
  net::RequestSigner signer(const SourceRef& ref);

  // "<api>/v2/org/<org>[/team/<team>]/models/<model>/versions/<version>".
  std::string version_url(const SourceRef& ref) const;

  // An NGC error answer in words: 401/403 name NGC_API_KEY, 404 names the model, version and file.
  Error explain(const net::HttpResponse& response, const SourceRef& ref, const std::string& path) const;

 private:
  struct CachedToken {
    std::string token;
    std::chrono::steady_clock::time_point refresh_after;
  };
  static std::string scope_of(const SourceRef& ref);
  Result<std::string> token_for(const SourceRef& ref);
  std::optional<std::string> cached_token(const SourceRef& ref);

  net::HttpClient& http_;
  NgcSettings settings_;
  std::mutex mutex_;
  std::map<std::string, CachedToken> tokens_;
};

}  // namespace airlock::fetch
