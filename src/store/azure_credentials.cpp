#include "store/azure_credentials.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <regex>

#include "core/base64.h"
#include "core/env.h"
#include "core/file_io.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/strings.h"
#include "net/http_url.h"
#include "store/store.h"

namespace airlock::store {
namespace {

constexpr std::string_view kAzuriteKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

std::vector<std::string> host_labels(std::string_view host) {
  std::vector<std::string> labels;
  for (std::string_view label : split(host, '.')) labels.push_back(to_lower(label));
  return labels;
}

Status validate_account(std::string_view account) {
  bool ok = account.size() >= 3 && account.size() <= 24;
  for (char c : account) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
  if (!ok) {
    return invalid_argument(
        fmt::format("'{}' is not an Azure storage account name (3-24 lowercase letters and digits)", account));
  }
  return ok_status();
}

Status validate_container(std::string_view container) {
  bool ok = container.size() >= 3 && container.size() <= 63;
  for (char c : container) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  ok = ok && container.front() != '-' && container.back() != '-' && container.find("--") == std::string_view::npos;
  if (!ok) {
    return invalid_argument(fmt::format(
        "'{}' is not an Azure container name (3-63 lowercase letters, digits and single hyphens)", container));
  }
  return ok_status();
}

std::string sas_from_text(std::string_view text) {
  std::string sas(trim(text));
  if (!sas.empty() && sas.front() == '?') sas.erase(sas.begin());
  return sas;
}

Result<std::string> decode_account_key(std::string_view key, std::string_view source) {
  auto decoded = base64_decode(trim(key));
  if (!decoded.ok() || decoded->empty()) {
    return invalid_argument(
        fmt::format("the account key in {} is not base64 (copy it from the portal's Access keys)", source));
  }
  return decoded;
}

// The encoded path and the query of a URL as sent.
std::pair<std::string, std::string> path_and_query(std::string_view url) {
  std::string_view rest = url;
  if (auto scheme = rest.find("://"); scheme != std::string_view::npos) rest = rest.substr(scheme + 3);
  auto slash = rest.find('/');
  if (slash == std::string_view::npos) return {"/", ""};
  rest = rest.substr(slash);
  auto question = rest.find('?');
  if (question == std::string_view::npos) return {std::string(rest), ""};
  return {std::string(rest.substr(0, question)), std::string(rest.substr(question + 1))};
}

std::string collapse_whitespace(std::string_view value) {
  std::string out;
  bool space = false;
  for (char c : trim(value)) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

bool is_azure_blob_uri(const Uri& uri) {
  if (uri.scheme != "https" && uri.scheme != "http") return false;
  const std::vector<std::string> labels = host_labels(uri.host);
  // <account>.blob.core.windows.net and the other clouds' blob.core.<suffix>.
  if (labels.size() >= 4 && labels[1] == "blob" && labels[2] == "core") return true;
  // Zonal endpoints: <account>.z<NN>.blob.storage.azure.net.
  static const std::regex zonal(R"(^[a-z0-9]+\.z[0-9]+\.blob\.storage\.azure\.net$)");
  return std::regex_match(to_lower(uri.host), zonal);
}

namespace {

// What people see names the service airlock really talks to: with --endpoint-url (Azurite, a
// private endpoint) or a connection string's BlobEndpoint that is not the URI's account host.
void set_azure_endpoint(AzureTarget& target, std::string endpoint, std::string source) {
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  target.endpoint = std::move(endpoint);
  target.endpoint_source = std::move(source);
  target.display = fmt::format("{}/{}/{}", net::display_url(target.endpoint), target.container, target.prefix);
}

}  // namespace

Result<AzureTarget> parse_azure_uri(const Uri& uri, const std::string& endpoint_override) {
  AzureTarget target;
  const std::vector<std::string> labels = host_labels(uri.host);
  if (labels.empty() || labels[0].empty())
    return invalid_argument("an Azure Blob URI needs the account in its host name");
  target.account = labels[0];
  AIRLOCK_TRY(validate_account(target.account));
  std::string path = uri.path;
  while (!path.empty() && path.front() == '/') path.erase(path.begin());
  const auto slash = path.find('/');
  target.container = path.substr(0, slash);
  if (target.container.empty()) {
    return invalid_argument(
        fmt::format("{} names no container: use https://{}/<container>/<path>", uri.to_string(), uri.host));
  }
  AIRLOCK_TRY(validate_container(target.container));
  target.prefix = slash == std::string::npos ? "" : as_directory_prefix(path.substr(slash + 1));
  if (!endpoint_override.empty()) {
    set_azure_endpoint(target, endpoint_override, "--endpoint-url");
  } else {
    target.endpoint = uri.scheme + "://" + uri.host + (uri.port ? ":" + std::to_string(*uri.port) : "");
    target.endpoint_source = "the URI";
    target.display = fmt::format("https://{}/{}/{}", to_lower(uri.host), target.container, target.prefix);
  }
  return target;
}

Result<AzureConnectionString> parse_azure_connection_string(std::string_view text) {
  std::map<std::string, std::string> fields;
  for (std::string_view part : split(text, ';')) {
    part = trim(part);
    if (part.empty()) continue;
    auto equals = part.find('=');
    if (equals == std::string_view::npos) {
      return invalid_argument("AZURE_STORAGE_CONNECTION_STRING: every part must be Key=Value");
    }
    fields[to_lower(trim(part.substr(0, equals)))] = std::string(trim(part.substr(equals + 1)));
  }
  auto get = [&](const char* key) {
    auto it = fields.find(key);
    return it == fields.end() ? std::string() : it->second;
  };
  AzureConnectionString result;
  if (iequals(get("usedevelopmentstorage"), "true")) {
    result.account = std::string(kAzuriteAccount);
    result.key = std::string(kAzuriteKey);
    std::string proxy = get("developmentstorageproxyuri");
    result.blob_endpoint =
        (proxy.empty() ? std::string("http://127.0.0.1") : proxy) + ":10000/" + std::string(kAzuriteAccount);
    return result;
  }
  result.account = get("accountname");
  result.key = get("accountkey");
  result.sas = sas_from_text(get("sharedaccesssignature"));
  result.blob_endpoint = get("blobendpoint");
  if (result.blob_endpoint.empty() && !result.account.empty()) {
    std::string protocol = get("defaultendpointsprotocol");
    std::string suffix = get("endpointsuffix");
    result.blob_endpoint = fmt::format("{}://{}.blob.{}", protocol.empty() ? "https" : to_lower(protocol),
                                       result.account, suffix.empty() ? "core.windows.net" : suffix);
  }
  while (!result.blob_endpoint.empty() && result.blob_endpoint.back() == '/') result.blob_endpoint.pop_back();
  if (result.key.empty() && result.sas.empty()) {
    return invalid_argument(
        "AZURE_STORAGE_CONNECTION_STRING has neither AccountKey nor SharedAccessSignature (nor "
        "UseDevelopmentStorage=true)");
  }
  if (!result.key.empty() && result.account.empty()) {
    return invalid_argument("AZURE_STORAGE_CONNECTION_STRING has an AccountKey but no AccountName");
  }
  if (!result.key.empty()) register_secret(result.key);
  if (!result.sas.empty()) register_secret(result.sas);
  return result;
}

std::string rfc1123_date(std::chrono::system_clock::time_point time) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[64];
  std::strftime(buffer, sizeof(buffer), "%a, %d %b %Y %H:%M:%S GMT", &utc);
  return buffer;
}

std::string azure_shared_key_string_to_sign(const net::OutgoingRequest& request, std::string_view account) {
  auto header = [&](std::string_view name) { return request.headers.get(name).value_or(""); };
  // Since version 2015-02-21 a zero Content-Length is an empty line.
  std::string content_length = request.body_size > 0 ? std::to_string(request.body_size) : "";
  if (auto given = request.headers.get("Content-Length"); given && *given != "0") content_length = *given;
  std::string out;
  out += request.method + "\n";
  out += header("Content-Encoding") + "\n";
  out += header("Content-Language") + "\n";
  out += content_length + "\n";
  out += header("Content-MD5") + "\n";
  out += header("Content-Type") + "\n";
  out += header("Date") + "\n";
  out += header("If-Modified-Since") + "\n";
  out += header("If-Match") + "\n";
  out += header("If-None-Match") + "\n";
  out += header("If-Unmodified-Since") + "\n";
  out += header("Range") + "\n";
  std::map<std::string, std::string> ms_headers;
  for (const auto& [name, value] : request.headers) {
    std::string lower = to_lower(name);
    if (!lower.starts_with("x-ms-")) continue;
    std::string cleaned = collapse_whitespace(value);
    auto [it, inserted] = ms_headers.emplace(lower, cleaned);
    if (!inserted) it->second += "," + cleaned;
  }
  for (const auto& [name, value] : ms_headers) out += name + ":" + value + "\n";
  auto [path, query] = path_and_query(request.url);
  out += "/" + std::string(account) + path;
  std::map<std::string, std::vector<std::string>> parameters;
  if (!query.empty()) {
    for (std::string_view pair : split(query, '&')) {
      if (pair.empty()) continue;
      auto equals = pair.find('=');
      std::string name(pair.substr(0, equals));
      std::string value = equals == std::string_view::npos ? "" : std::string(pair.substr(equals + 1));
      auto decoded_name = percent_decode(name);
      auto decoded_value = percent_decode(value);
      parameters[to_lower(decoded_name.ok() ? *decoded_name : name)].push_back(decoded_value.ok() ? *decoded_value
                                                                                                  : value);
    }
  }
  for (auto& [name, values] : parameters) {
    std::sort(values.begin(), values.end());
    out += "\n" + name + ":";
    for (std::size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + values[i];
  }
  return out;
}

Status azure_shared_key_sign(net::OutgoingRequest& request, std::string_view account, std::string_view decoded_key,
                             std::chrono::system_clock::time_point now) {
  request.headers.set("x-ms-date", rfc1123_date(now));
  request.headers.remove("Date");
  const std::string string_to_sign = azure_shared_key_string_to_sign(request, account);
  const std::string signature = base64_encode(hmac_sha256(decoded_key, string_to_sign));
  request.headers.set("Authorization", fmt::format("SharedKey {}:{}", account, signature));
  return ok_status();
}

Result<std::shared_ptr<TokenSource>> azure_service_principal(const std::string& authority, const std::string& tenant,
                                                             const std::string& client_id,
                                                             const std::string& client_secret,
                                                             const std::string& federated_token_file,
                                                             const net::HttpClientOptions& http) {
  AIRLOCK_ASSIGN_OR_RETURN(std::shared_ptr<net::HttpClient> client, token_http_client(http));
  std::string base = authority;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string url = fmt::format("{}/{}/oauth2/v2.0/token", base, percent_encode(tenant));
  if (!client_secret.empty()) {
    register_secret(client_secret);
    const std::string who = fmt::format(
        "service principal {} in tenant {} (AZURE_CLIENT_ID / AZURE_TENANT_ID / "
        "AZURE_CLIENT_SECRET)",
        client_id, tenant);
    auto fetch = [client, url, client_id, client_secret, who]() -> Result<AccessToken> {
      return request_token(*client, url,
                           {{"client_id", client_id},
                            {"scope", "https://storage.azure.com/.default"},
                            {"client_secret", client_secret},
                            {"grant_type", "client_credentials"}},
                           who);
    };
    return cached_token_source(fetch, who);
  }
  const std::string who = fmt::format("workload identity {} in tenant {} (AZURE_FEDERATED_TOKEN_FILE={})", client_id,
                                      tenant, federated_token_file);
  auto fetch = [client, url, client_id, federated_token_file, who]() -> Result<AccessToken> {
    // Kubernetes rotates the projected token file: read it for every exchange.
    auto assertion = read_file_limited(federated_token_file, 64 * 1024);
    if (!assertion.ok()) return assertion.error().with_context("reading AZURE_FEDERATED_TOKEN_FILE");
    register_secret(trim(*assertion));
    return request_token(*client, url,
                         {{"client_id", client_id},
                          {"scope", "https://storage.azure.com/.default"},
                          {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
                          {"client_assertion", std::string(trim(*assertion))},
                          {"grant_type", "client_credentials"}},
                         who);
  };
  return cached_token_source(fetch, who);
}

Result<AzureAuth> resolve_azure_auth(const Uri& uri, AzureTarget& target, const AzureCredentialOptions& options) {
  AzureAuth auth;
  if (uri.query_param("sig")) {
    std::string sas;
    for (const auto& [name, value] : uri.query) {
      if (!sas.empty()) sas += '&';
      sas += percent_encode(name) + "=" + percent_encode(value);
    }
    register_secret(*uri.query_param("sig"));
    auth.kind = AzureAuthKind::kSas;
    auth.sas = sas;
    auth.source = "the SAS token in the URI";
    auth.fix = "check the SAS token in the URI (expiry se=, permissions sp= need r, w, d and l)";
    return auth;
  }
  if (!uri.query.empty()) {
    return invalid_argument(
        fmt::format("{}: the only query an Azure Blob URI may carry is a SAS token (with sig=)", uri.to_string()));
  }
  if (options.anonymous) {
    auth.source = "no credentials (--no-sign-request)";
    auth.fix = "anonymous access needs a container with public access; give credentials instead";
    return auth;
  }
  if (auto text = get_env("AZURE_STORAGE_CONNECTION_STRING")) {
    AIRLOCK_ASSIGN_OR_RETURN(AzureConnectionString connection, parse_azure_connection_string(*text));
    if (!connection.account.empty() && connection.account != target.account) {
      return invalid_argument(
          fmt::format("AZURE_STORAGE_CONNECTION_STRING is for account '{}' but the URI names account '{}'",
                      connection.account, target.account));
    }
    if (target.endpoint_source != "--endpoint-url" && !connection.blob_endpoint.empty()) {
      set_azure_endpoint(target, connection.blob_endpoint, "AZURE_STORAGE_CONNECTION_STRING");
    }
    auth.source = "AZURE_STORAGE_CONNECTION_STRING";
    auth.fix = "check AZURE_STORAGE_CONNECTION_STRING (AccountKey or SharedAccessSignature)";
    if (!connection.key.empty()) {
      AIRLOCK_ASSIGN_OR_RETURN(auth.key, decode_account_key(connection.key, "AZURE_STORAGE_CONNECTION_STRING"));
      auth.kind = AzureAuthKind::kSharedKey;
      auth.account = connection.account;
    } else {
      auth.kind = AzureAuthKind::kSas;
      auth.sas = connection.sas;
    }
    return auth;
  }
  if (auto sas = get_env("AZURE_STORAGE_SAS_TOKEN")) {
    register_secret(*sas);
    auth.kind = AzureAuthKind::kSas;
    auth.sas = sas_from_text(*sas);
    auth.source = "AZURE_STORAGE_SAS_TOKEN";
    auth.fix = "check AZURE_STORAGE_SAS_TOKEN (expiry se=, permissions sp= need r, w, d and l)";
    return auth;
  }
  auto client_id = first_env({"AZURE_CLIENT_ID", "AZ_CLIENT_ID"});
  auto tenant = first_env({"AZURE_TENANT_ID", "AZ_TENANT_ID"});
  auto secret = first_env({"AZURE_CLIENT_SECRET", "AZ_CLIENT_SECRET"});
  auto federated = get_env("AZURE_FEDERATED_TOKEN_FILE");
  if (client_id && tenant && (secret || federated)) {
    const std::string authority = get_env("AZURE_AUTHORITY_HOST").value_or("https://login.microsoftonline.com");
    AIRLOCK_ASSIGN_OR_RETURN(
        auth.token, azure_service_principal(authority, tenant->value, client_id->value, secret ? secret->value : "",
                                            federated.value_or(""), options.http));
    auth.kind = AzureAuthKind::kBearer;
    auth.source = auth.token->source();
    auth.fix = secret ? fmt::format("check {} / {} / {}, and that the principal has a Storage Blob Data role",
                                    client_id->name, tenant->name, secret->name)
                      : std::string(
                            "check AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_FEDERATED_TOKEN_FILE, and that "
                            "the identity has a Storage Blob Data role");
    return auth;
  }
  if (client_id && !tenant) {
    log::warn("{} is set but AZURE_TENANT_ID is not: not using a service principal", client_id->name);
  }
  if (auto key = first_env({"AZURE_STORAGE_KEY", "AZURE_STORAGE_ACCESS_KEY"})) {
    if (auto account = get_env("AZURE_STORAGE_ACCOUNT"); account && *account != target.account) {
      return invalid_argument(
          fmt::format("AZURE_STORAGE_ACCOUNT is '{}' but the URI names account '{}'", *account, target.account));
    }
    AIRLOCK_ASSIGN_OR_RETURN(auth.key, decode_account_key(key->value, key->name));
    register_secret(key->value);
    auth.kind = AzureAuthKind::kSharedKey;
    auth.account = target.account;
    auth.source = key->name;
    auth.fix =
        fmt::format("check {} (the access key of account {}) and AZURE_STORAGE_ACCOUNT", key->name, target.account);
    return auth;
  }
  log::debug("no Azure credentials found: anonymous requests to account {}", target.account);
  auth.source = "no credentials";
  auth.fix =
      "anonymous access was refused; set AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN, "
      "AZURE_STORAGE_CONNECTION_STRING, or AZURE_CLIENT_ID + AZURE_TENANT_ID + AZURE_CLIENT_SECRET";
  return auth;
}

}  // namespace airlock::store
