#include "fetch/ngc_client.h"

#include <fmt/format.h>

#include <algorithm>

#include "cache/checksums_blake3.h"
#include "core/base64.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/uri.h"
#include "net/http_url.h"

namespace airlock::fetch {
namespace {

std::string trim_slash(std::string text) {
  while (!text.empty() && text.back() == '/') text.pop_back();
  return text;
}

std::string key_variables() { return "NGC_API_KEY (or NGC_CLI_API_KEY)"; }

}  // namespace

NgcSettings NgcSettings::from_environment() {
  NgcSettings settings;
  if (auto api = get_env("NGC_API_ENDPOINT")) settings.api_endpoint = trim_slash(*api);
  if (auto auth = get_env("NGC_AUTH_ENDPOINT")) settings.auth_endpoint = trim_slash(*auth);
  settings.key = first_env({"NGC_API_KEY", "NGC_CLI_API_KEY"});
  if (settings.key) register_secret(settings.key->value);
  return settings;
}

NgcClient::NgcClient(net::HttpClient& http, NgcSettings settings) : http_(http), settings_(std::move(settings)) {}

std::string NgcClient::scope_of(const SourceRef& ref) {
  return ref.team.empty() ? fmt::format("group/ngc:{}", ref.org) : fmt::format("group/ngc:{}/{}", ref.org, ref.team);
}

std::string NgcClient::version_url(const SourceRef& ref) const {
  std::string url = settings_.api_endpoint + "/v2/org/" + percent_encode(ref.org);
  if (!ref.team.empty()) url += "/team/" + percent_encode(ref.team);
  url += "/models/" + percent_encode(ref.model) + "/versions/" + percent_encode(ref.revision);
  return url;
}

Result<std::string> NgcClient::token_for(const SourceRef& ref) {
  if (!settings_.key) return std::string();
  const std::string& key = settings_.key->value;
  // Personal keys are bearer tokens themselves.
  if (key.starts_with("nvapi-")) return key;
  std::string scope = scope_of(ref);
  {
    std::lock_guard lock(mutex_);
    auto it = tokens_.find(scope);
    if (it != tokens_.end() && std::chrono::steady_clock::now() < it->second.refresh_after) return it->second.token;
  }
  std::string url = settings_.auth_endpoint + "/token?service=ngc&scope=" + percent_encode(scope);
  net::HttpRequest request = net::HttpRequest::get(url);
  request.headers.set("Authorization", "Basic " + base64_encode("$oauthtoken:" + key));
  request.headers.set("Accept", "application/json");
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, http_.send(std::move(request)));
  if (response.status == 401 || response.status == 403) {
    return Error(ErrorCode::kUnauthenticated,
                 fmt::format("the NGC auth service ({}) rejected the key in {} (HTTP {}) for scope {}: set {} to a valid "
                             "NGC API key with access to org '{}'{}",
                             net::display_url(settings_.auth_endpoint), settings_.key->name, response.status, scope,
                             settings_.key->name, ref.org, ref.team.empty() ? "" : fmt::format(", team '{}'", ref.team)));
  }
  if (!response.ok()) return net::http_error(response);
  AIRLOCK_ASSIGN_OR_RETURN(NgcToken token, parse_ngc_token(response.body, net::display_url(url)));
  register_secret(token.token);
  // Tokens live about 15 minutes; refresh well before, or at 80% of what the service says.
  auto lifetime = std::chrono::seconds(token.expires_in ? std::max(30L, *token.expires_in * 4 / 5) : 600);
  std::lock_guard lock(mutex_);
  tokens_[scope] = CachedToken{token.token, std::chrono::steady_clock::now() + lifetime};
  return token.token;
}

std::optional<std::string> NgcClient::cached_token(const SourceRef& ref) {
  if (!settings_.key) return std::nullopt;
  if (settings_.key->value.starts_with("nvapi-")) return settings_.key->value;
  std::lock_guard lock(mutex_);
  auto it = tokens_.find(scope_of(ref));
  if (it == tokens_.end()) return std::nullopt;
  return it->second.token;
}

Status NgcClient::refresh_token(const SourceRef& ref) {
  AIRLOCK_ASSIGN_OR_RETURN(std::string token, token_for(ref));
  (void)token;
  return ok_status();
}

net::RequestSigner NgcClient::signer(const SourceRef& ref) {
  return [this, ref](net::OutgoingRequest& request) -> Status {
    if (auto token = cached_token(ref)) request.headers.set("Authorization", "Bearer " + *token);
    return ok_status();
  };
}

Error NgcClient::explain(const net::HttpResponse& response, const SourceRef& ref, const std::string& path) const {
  std::string what = fmt::format("{}:{}", ref.repo, ref.revision);
  switch (response.status) {
    case 401:
      if (!settings_.key) {
        return Error(ErrorCode::kUnauthenticated,
                     fmt::format("NGC requires credentials for {} (HTTP 401 Unauthorized): set {} to an NGC API key", what,
                                 key_variables()));
      }
      return Error(ErrorCode::kUnauthenticated,
                   fmt::format("NGC did not accept the key in {} for {} (HTTP 401 Unauthorized): set {} to a valid NGC API "
                               "key",
                               settings_.key->name, what, settings_.key->name));
    case 403:
      return Error(ErrorCode::kPermissionDenied,
                   fmt::format("NGC refused access to {} (HTTP 403 Forbidden): the key in {} has no access to org '{}'{}; "
                               "set {} to a key of an account entitled to this model",
                               what, settings_.key ? settings_.key->name : key_variables(), ref.org,
                               ref.team.empty() ? "" : fmt::format(" team '{}'", ref.team),
                               settings_.key ? settings_.key->name : key_variables()));
    case 404:
      if (path.empty()) {
        return not_found(fmt::format("NGC has no model {} version '{}' (HTTP 404 at {})", ref.repo, ref.revision,
                                     net::display_url(response.url)));
      }
      return not_found(fmt::format("NGC model {} version '{}' has no file '{}' (HTTP 404)", ref.repo, ref.revision, path));
    default:
      return net::http_error(response).with_context(fmt::format("NGC {}{}", what, path.empty() ? "" : " file " + path));
  }
}

Result<std::vector<NgcFile>> NgcClient::list_files(const SourceRef& ref) {
  AIRLOCK_TRY(refresh_token(ref));
  std::vector<NgcFile> files;
  for (int page = 1;; ++page) {
    std::string url = fmt::format("{}/files?page-size=500&page-number={}", version_url(ref), page);
    net::HttpRequest request = net::HttpRequest::get(url);
    request.signer = signer(ref);
    request.headers.set("Accept", "application/json");
    AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, http_.send(std::move(request)));
    if (response.status == 400 && page == 1) {
      // The `nim` org gates the bulk listing; its checksums.blake3 lists the files instead.
      log::debug("NGC listing of {} answered 400 ({}); taking the paths from checksums.blake3", ref.repo,
                 redact(response.body.substr(0, 200)));
      std::string sums_url = version_url(ref) + "/files/checksums.blake3";
      net::HttpRequest sums_request = net::HttpRequest::get(sums_url);
      sums_request.signer = signer(ref);
      AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse sums, http_.send(std::move(sums_request)));
      if (!sums.ok()) return explain(sums, ref, "checksums.blake3");
      AIRLOCK_ASSIGN_OR_RETURN(cache::Blake3Sums parsed, cache::parse_checksums_blake3(sums.body, ref.repo + "/checksums.blake3"));
      files.push_back(NgcFile{"checksums.blake3", sums.body.size(), ""});
      for (const auto& [path, hash] : parsed) files.push_back(NgcFile{path, std::nullopt, ""});
      return files;
    }
    if (!response.ok()) return explain(response, ref, "");
    AIRLOCK_ASSIGN_OR_RETURN(NgcFilePage parsed, parse_ngc_file_page(response.body, net::display_url(url)));
    for (auto& file : parsed.files) files.push_back(std::move(file));
    if (page >= parsed.total_pages) break;
  }
  return files;
}

Result<RemoteFile> NgcClient::locate(const SourceRef& ref, const std::string& path) {
  AIRLOCK_TRY(refresh_token(ref));
  ProbeOptions options;
  options.signer = signer(ref);
  options.stop_at_other_origin = true;
  options.explain = [this, ref, path](const net::HttpResponse& response) { return explain(response, ref, path); };
  return probe_remote(http_, version_url(ref) + "/files/" + percent_encode(path, "/"), options);
}

}  // namespace airlock::fetch
