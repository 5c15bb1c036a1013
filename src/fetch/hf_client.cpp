#include "fetch/hf_client.h"

#include <fmt/format.h>

#include "core/env.h"
#include "core/redact.h"
#include "core/uri.h"
#include "net/http_url.h"

namespace airlock::fetch {

HfSettings HfSettings::from_environment() {
  HfSettings settings;
  if (auto endpoint = get_env("HF_ENDPOINT")) {
    settings.endpoint = *endpoint;
    while (!settings.endpoint.empty() && settings.endpoint.back() == '/') settings.endpoint.pop_back();
  }
  settings.token = get_env("HF_TOKEN");
  if (settings.token) register_secret(*settings.token);
  return settings;
}

HfClient::HfClient(net::HttpClient& http, HfSettings settings) : http_(http), settings_(std::move(settings)) {}

net::HttpHeaders HfClient::auth_headers() const {
  net::HttpHeaders headers;
  if (settings_.token) headers.set("Authorization", "Bearer " + *settings_.token);
  return headers;
}

Error HfClient::explain(const net::HttpResponse& response, const std::string& repo, const std::string& revision,
                        const std::string& path) const {
  std::string code = response.headers.get("x-error-code").value_or("");
  std::string where = path.empty() ? fmt::format("{} at revision '{}'", repo, revision)
                                   : fmt::format("'{}' in {} at revision '{}'", path, repo, revision);
  switch (response.status) {
    case 401:
      if (!settings_.token) {
        return Error(ErrorCode::kUnauthenticated,
                     fmt::format("Hugging Face requires a token for {} (HTTP 401: private or gated repository): set HF_TOKEN "
                                 "to a token with access",
                                 repo));
      }
      return Error(ErrorCode::kUnauthenticated,
                   fmt::format("Hugging Face did not accept the token in HF_TOKEN for {} (HTTP 401): set HF_TOKEN to a valid "
                               "token",
                               repo));
    case 403:
      return Error(ErrorCode::kPermissionDenied,
                   fmt::format("Hugging Face refused access to {} (HTTP 403{}): the token in HF_TOKEN has no access; "
                               "request access to the repository, then set HF_TOKEN to a token of that account",
                               repo, code.empty() ? "" : ", " + code));
    case 404:
      if (code == "RevisionNotFound") return not_found(fmt::format("Hugging Face repository {} has no revision '{}'", repo, revision));
      if (code == "RepoNotFound" || path.empty()) {
        return not_found(fmt::format("Hugging Face has no repository {} (or no revision '{}') (HTTP 404{}); if it is "
                                     "private, set HF_TOKEN",
                                     repo, revision, code.empty() ? "" : ", " + code));
      }
      return not_found(fmt::format("Hugging Face has no file {} (HTTP 404{})", where, code.empty() ? "" : ", " + code));
    default:
      return net::http_error(response).with_context("Hugging Face " + where);
  }
}

Result<HfRevisionInfo> HfClient::revision_info(const std::string& repo, const std::string& revision) {
  std::string url = fmt::format("{}/api/models/{}/revision/{}?blobs=true", settings_.endpoint, percent_encode(repo, "/"),
                                percent_encode(revision));
  net::HttpRequest request = net::HttpRequest::get(url);
  request.headers = auth_headers();
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, http_.send(std::move(request)));
  if (!response.ok()) return explain(response, repo, revision, "");
  AIRLOCK_ASSIGN_OR_RETURN(HfRevisionInfo info, parse_hf_revision_info(response.body, net::display_url(url)));
  if (!info.sizes_known) {
    AIRLOCK_ASSIGN_OR_RETURN(info.siblings, list_tree(repo, info.sha));
    info.sizes_known = true;
  }
  return info;
}

Result<std::vector<HfFile>> HfClient::list_tree(const std::string& repo, const std::string& commit) {
  std::vector<HfFile> files;
  std::string url = fmt::format("{}/api/models/{}/tree/{}?recursive=true", settings_.endpoint, percent_encode(repo, "/"),
                                percent_encode(commit));
  const std::string origin = net::url_origin(url);
  for (int page = 0; page < 100000; ++page) {
    net::HttpRequest request = net::HttpRequest::get(url);
    request.headers = auth_headers();
    AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, http_.send(std::move(request)));
    if (!response.ok()) return explain(response, repo, commit, "");
    AIRLOCK_ASSIGN_OR_RETURN(auto entries, parse_hf_tree_page(response.body, net::display_url(url)));
    for (auto& entry : entries) files.push_back(std::move(entry));
    auto next = parse_link_next(response.headers.get("link").value_or(""));
    if (!next) return files;
    AIRLOCK_ASSIGN_OR_RETURN(url, net::resolve_url(url, *next));
    if (net::url_origin(url) != origin) {
      return Error(ErrorCode::kNetwork, fmt::format("Hugging Face tree listing of {} pointed its next page at another host ({})",
                                                    repo, net::display_url(url)));
    }
  }
  return Error(ErrorCode::kNetwork, fmt::format("Hugging Face tree listing of {} did not end", repo));
}

Result<RemoteFile> HfClient::locate(const std::string& repo, const std::string& commit, const std::string& path) {
  ProbeOptions options;
  options.head = true;
  options.headers = auth_headers();
  options.stop_at_other_origin = true;
  options.explain = [this, repo, commit, path](const net::HttpResponse& response) { return explain(response, repo, commit, path); };
  std::string url = fmt::format("{}/{}/resolve/{}/{}", settings_.endpoint, percent_encode(repo, "/"), percent_encode(commit),
                                percent_encode(path, "/"));
  return probe_remote(http_, url, options);
}

}  // namespace airlock::fetch
