#include "store/gcs_credentials.h"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <system_error>

#include "core/base64.h"
#include "core/env.h"
#include "core/file_io.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/strings.h"
#include "core/uri.h"
#include "net/http_url.h"

namespace airlock::store {
namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

namespace {

constexpr std::uint64_t kMaxKeyFile = 1024 * 1024;

std::string string_field(const Json& json, const char* name) {
  if (!json.contains(name) || !json[name].is_string()) return "";
  return json[name].get<std::string>();
}

Result<std::string> rs256_sign(std::string_view pem, std::string_view data) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return internal_error("cannot allocate an OpenSSL buffer");
  // No pass-phrase prompt: key files from Google are never encrypted, and a prompt would hang.
  EVP_PKEY* key = PEM_read_bio_PrivateKey(
      bio, nullptr, [](char*, int, int, void*) { return 0; }, nullptr);
  BIO_free(bio);
  if (key == nullptr) return invalid_argument("its private_key is not a PEM private key");
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    EVP_PKEY_free(key);
    return invalid_argument("its private_key is not an RSA key (RS256 needs one)");
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string signature;
  bool ok = ctx != nullptr && EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1;
  std::size_t length = 0;
  ok = ok &&
       EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  if (ok) {
    signature.resize(length);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                        reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    signature.resize(length);
  }
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  if (!ok) return internal_error("OpenSSL could not sign the JWT with the service account key");
  return signature;
}

std::string describe(const std::string& what, const std::string& origin) {
  return origin.empty() ? what : fmt::format("{} ({})", what, origin);
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out = base64_encode(bytes);
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

Result<GoogleKeyFile> parse_google_key_file(const Json& json, std::string_view source) {
  if (!json.is_object()) return parse_error(fmt::format("{} is not a JSON object", source));
  const std::string type = string_field(json, "type");
  GoogleKeyFile file;
  if (type == "service_account") {
    ServiceAccountKey key;
    key.client_email = string_field(json, "client_email");
    key.private_key = string_field(json, "private_key");
    key.private_key_id = string_field(json, "private_key_id");
    key.token_uri = string_field(json, "token_uri");
    if (key.token_uri.empty()) key.token_uri = std::string(kGoogleTokenUri);
    if (key.client_email.empty() || key.private_key.empty()) {
      return parse_error(fmt::format("{}: a service_account key needs client_email and private_key", source));
    }
    register_secret(key.private_key);
    file.service_account = std::move(key);
    return file;
  }
  if (type == "authorized_user") {
    AuthorizedUser user;
    user.client_id = string_field(json, "client_id");
    user.client_secret = string_field(json, "client_secret");
    user.refresh_token = string_field(json, "refresh_token");
    user.token_uri = string_field(json, "token_uri");
    if (user.token_uri.empty()) user.token_uri = std::string(kGoogleTokenUri);
    if (user.client_id.empty() || user.refresh_token.empty()) {
      return parse_error(fmt::format("{}: an authorized_user file needs client_id and refresh_token", source));
    }
    register_secret(user.client_secret);
    register_secret(user.refresh_token);
    file.authorized_user = std::move(user);
    return file;
  }
  if (type.empty()) return parse_error(fmt::format("{} has no \"type\"; it is not a Google credentials file", source));
  return Error(ErrorCode::kUnsupported,
               fmt::format("{}: credentials of type '{}' are not supported; use a service account key "
                           "(type service_account), `gcloud auth application-default login` "
                           "(authorized_user), or the metadata server",
                           source, type));
}

Result<std::string> make_service_account_jwt(const ServiceAccountKey& key, std::string_view scope,
                                             Clock::time_point issued_at) {
  const std::int64_t iat = std::chrono::duration_cast<std::chrono::seconds>(issued_at.time_since_epoch()).count();
  Json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  if (!key.private_key_id.empty()) header["kid"] = key.private_key_id;
  Json claims = {{"iss", key.client_email},
                 {"scope", std::string(scope)},
                 {"aud", key.token_uri},
                 {"iat", iat},
                 {"exp", iat + 3600}};
  const std::string signing_input = base64url_encode(dump_json(header)) + "." + base64url_encode(dump_json(claims));
  auto signature = rs256_sign(key.private_key, signing_input);
  if (!signature.ok()) {
    return signature.error().with_context(fmt::format("the key of service account {}", key.client_email));
  }
  return signing_input + "." + base64url_encode(*signature);
}

Result<std::shared_ptr<TokenSource>> gcs_credentials_from_file(const fs::path& path, const std::string& origin,
                                                               const GcsCredentialOptions& options) {
  const std::string where = describe(path.string(), origin);
  auto text = read_file_limited(path, kMaxKeyFile);
  if (!text.ok()) {
    return Error(text.error().code() == ErrorCode::kNotFound ? ErrorCode::kNotFound : text.error().code(),
                 fmt::format("cannot read the Google credentials file {}: {}", where, text.error().message()));
  }
  auto json = parse_json(*text, path.string());
  if (!json.ok()) {
    // The parser's excerpt could quote the private key.
    return parse_error(fmt::format("the Google credentials file {} is not valid JSON", where));
  }
  AIRLOCK_ASSIGN_OR_RETURN(GoogleKeyFile file, parse_google_key_file(*json, where));
  AIRLOCK_ASSIGN_OR_RETURN(std::shared_ptr<net::HttpClient> client, token_http_client(options.http));
  if (file.service_account) {
    ServiceAccountKey key = *file.service_account;
    const std::string who = fmt::format("service account {} (key file {})", key.client_email, where);
    // Sign once now: a key that is not an RSA PEM key fails here, before any transfer starts.
    if (auto probe = make_service_account_jwt(key, options.scope, Clock::now()); !probe.ok()) {
      return Error(probe.error().code(),
                   fmt::format("the Google credentials file {}: {}", where, probe.error().message()));
    }
    std::string scope = options.scope;
    auto fetch = [client, key, scope, who]() -> Result<AccessToken> {
      AIRLOCK_ASSIGN_OR_RETURN(std::string jwt, make_service_account_jwt(key, scope, Clock::now()));
      return request_token(*client, key.token_uri,
                           {{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"}, {"assertion", jwt}}, who);
    };
    return cached_token_source(fetch, who);
  }
  AuthorizedUser user = *file.authorized_user;
  const std::string who = fmt::format("the user credentials of {} (client {})", where, user.client_id);
  auto fetch = [client, user, who]() -> Result<AccessToken> {
    return request_token(*client, user.token_uri,
                         {{"grant_type", "refresh_token"},
                          {"client_id", user.client_id},
                          {"client_secret", user.client_secret},
                          {"refresh_token", user.refresh_token}},
                         who);
  };
  return cached_token_source(fetch, who);
}

Result<std::shared_ptr<TokenSource>> gcs_metadata_credentials(const std::string& host, const std::string& origin,
                                                              const GcsCredentialOptions& options) {
  AIRLOCK_ASSIGN_OR_RETURN(std::shared_ptr<net::HttpClient> client, token_http_client(options.http));
  const std::string base = host.find("://") == std::string::npos ? "http://" + host : host;
  const std::string url =
      base + "/computeMetadata/v1/instance/service-accounts/default/token?scopes=" + percent_encode(options.scope);
  const std::string who = describe(fmt::format("the metadata server at {}", host), origin);
  auto fetch = [client, url, who]() -> Result<AccessToken> {
    net::HttpRequest request = net::HttpRequest::get(url);
    request.headers.set("Metadata-Flavor", "Google");
    const Clock::time_point now = Clock::now();
    auto response = client->send(std::move(request));
    if (!response.ok()) return response.error().with_context("getting an access token from " + who);
    if (!response->ok()) {
      return Error(response->status == 404 || response->status == 403 ? ErrorCode::kUnauthenticated
                                                                      : net::error_code_for_status(response->status),
                   fmt::format("{} gave no access token (HTTP {}); is a service account attached to this "
                               "workload (GKE workload identity)?",
                               who, response->status));
    }
    auto token = parse_token_response(response->body, now);
    if (!token.ok()) return token.error().with_context(who);
    return token;
  };
  return cached_token_source(fetch, who);
}

Result<std::shared_ptr<TokenSource>> resolve_gcs_credentials(const GcsCredentialOptions& options) {
  if (auto path = get_env("GOOGLE_APPLICATION_CREDENTIALS")) {
    return gcs_credentials_from_file(*path, "GOOGLE_APPLICATION_CREDENTIALS", options);
  }
  fs::path well_known;
  if (auto config = get_env("CLOUDSDK_CONFIG")) {
    well_known = fs::path(*config) / "application_default_credentials.json";
  } else if (auto home = get_env("HOME")) {
    well_known = fs::path(*home) / ".config" / "gcloud" / "application_default_credentials.json";
  }
  std::error_code ec;
  if (!well_known.empty() && fs::exists(well_known, ec)) {
    return gcs_credentials_from_file(well_known, "gcloud application default credentials", options);
  }
  if (auto host = get_env("GCE_METADATA_HOST")) {
    return gcs_metadata_credentials(*host, "GCE_METADATA_HOST", options);
  }
  const bool skip_probe = iequals(get_env("NO_GCE_CHECK").value_or(""), "true");
  if (options.probe_metadata_server && !skip_probe) {
    // The metadata server answers on a link-local address with Metadata-Flavor: Google; an air
    // gap has none, so the probe is short and tried once.
    net::HttpClientOptions probe_options = options.http;
    probe_options.connect_timeout = std::chrono::milliseconds(500);
    probe_options.total_timeout = std::chrono::milliseconds(1000);
    probe_options.max_retries = 0;
    auto client = token_http_client(probe_options);
    if (client.ok()) {
      net::HttpRequest probe = net::HttpRequest::get("http://169.254.169.254/");
      probe.headers.set("Metadata-Flavor", "Google");
      auto answer = (*client)->send(std::move(probe));
      if (answer.ok() && answer->headers.get("metadata-flavor").value_or("") == "Google") {
        return gcs_metadata_credentials("169.254.169.254", "GCE/GKE metadata server", options);
      }
    }
  }
  log::debug("no Google credentials found (GOOGLE_APPLICATION_CREDENTIALS, {}, metadata server): anonymous requests",
             well_known.string());
  return std::shared_ptr<TokenSource>();
}

}  // namespace airlock::store
