// Google credentials for the Cloud Storage JSON API, found in the order of Google's Application
// Default Credentials:
//   1. GOOGLE_APPLICATION_CREDENTIALS: a key file (a missing file is an error, not a fall-through);
//   2. the gcloud well-known file, $CLOUDSDK_CONFIG/application_default_credentials.json or
//      ~/.config/gcloud/application_default_credentials.json;
//   3. the metadata server of GCE / GKE (workload identity): GCE_METADATA_HOST when set, else
//      169.254.169.254 when it answers as a metadata server (NO_GCE_CHECK=true skips the probe);
//   4. none: anonymous requests (public buckets), as KServe's storage initializer falls back to.
// Key files of type "service_account" become an RS256-signed JWT (OpenSSL) exchanged at the
// key's token_uri; "authorized_user" files (gcloud auth application-default login) carry a
// refresh token. Tokens are cached and refreshed before they expire (oauth_token.h).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "core/json.h"
#include "core/result.h"
#include "net/http_client.h"
#include "store/oauth_token.h"

namespace airlock::store {

inline constexpr std::string_view kGcsReadWriteScope = "https://www.googleapis.com/auth/devstorage.read_write";
inline constexpr std::string_view kGoogleTokenUri = "https://oauth2.googleapis.com/token";

struct ServiceAccountKey {
  std::string client_email;
  std::string private_key;  // PEM
  std::string private_key_id;
  std::string token_uri;
};

struct AuthorizedUser {
  std::string client_id;
  std::string client_secret;
  std::string refresh_token;
  std::string token_uri;
};

// A key file's document: exactly one of the two is set. Other types (external_account,
// impersonated_service_account) are kUnsupported with a message that says what to use instead.
struct GoogleKeyFile {
  std::optional<ServiceAccountKey> service_account;
  std::optional<AuthorizedUser> authorized_user;
};
Result<GoogleKeyFile> parse_google_key_file(const Json& json, std::string_view source);

// The signed JWT a service account presents to its token endpoint: header {"alg":"RS256",
// "typ":"JWT","kid":<private_key_id>}, claims iss, scope, aud (= token_uri), iat, exp (iat + 1 h).
Result<std::string> make_service_account_jwt(const ServiceAccountKey& key, std::string_view scope,
                                             std::chrono::system_clock::time_point issued_at);

// Base64url without padding (RFC 7515), as JWTs use it.
std::string base64url_encode(std::string_view bytes);

struct GcsCredentialOptions {
  std::string scope = std::string(kGcsReadWriteScope);
  // TLS settings for token endpoints and the metadata server (a client of its own is made).
  net::HttpClientOptions http;
  // Probe 169.254.169.254 when nothing else is configured (off in tests and with an emulator).
  bool probe_metadata_server = true;
};

// The first source of the chain that applies; nullptr means anonymous (nothing configured).
// The returned source has not fetched a token yet: a wrong key shows up on the first request,
// with a message naming the variable or file to fix.
Result<std::shared_ptr<TokenSource>> resolve_gcs_credentials(const GcsCredentialOptions& options);

// A token source for one key file (what GOOGLE_APPLICATION_CREDENTIALS names); `origin` says
// how the file was found, for messages.
Result<std::shared_ptr<TokenSource>> gcs_credentials_from_file(const std::filesystem::path& path,
                                                               const std::string& origin,
                                                               const GcsCredentialOptions& options);

// The metadata server at `host` ("169.254.169.254", "127.0.0.1:8080").
Result<std::shared_ptr<TokenSource>> gcs_metadata_credentials(const std::string& host, const std::string& origin,
                                                              const GcsCredentialOptions& options);

}  // namespace airlock::store
