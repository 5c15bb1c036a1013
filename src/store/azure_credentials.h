// Azure Blob addressing and credentials.
//
// A store URI is https://<account>.blob.core.windows.net/<container>/<prefix> (other clouds:
// blob.core.<suffix>; zonal endpoints https://<account>.z<NN>.blob.storage.azure.net/...). The
// service endpoint is the URI's origin unless --endpoint-url or a connection string's
// BlobEndpoint names another (Azurite: path style, http://127.0.0.1:10000/devstoreaccount1).
//
// Credentials, first match wins (KServe's storage initializer order where it has one):
//   1. a SAS token in the URI's query string (KServe lets it ride in the storageUri);
//   2. --no-sign-request: anonymous (public containers);
//   3. AZURE_STORAGE_CONNECTION_STRING (AccountName/AccountKey, SharedAccessSignature,
//      BlobEndpoint, EndpointSuffix, UseDevelopmentStorage=true);
//   4. AZURE_STORAGE_SAS_TOKEN;
//   5. a service principal: AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_CLIENT_SECRET (KServe's
//      AZ_* spellings too), or AZURE_FEDERATED_TOKEN_FILE (AKS workload identity), exchanged at
//      AZURE_AUTHORITY_HOST (default https://login.microsoftonline.com) for a storage token;
//   6. SharedKey: AZURE_STORAGE_KEY or KServe's AZURE_STORAGE_ACCESS_KEY, for
//      AZURE_STORAGE_ACCOUNT (which must then name the URI's account);
//   7. nothing: anonymous.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/result.h"
#include "core/uri.h"
#include "net/http_client.h"
#include "store/oauth_token.h"

namespace airlock::store {

// The x-ms-version airlock speaks (Blob service REST API version).
inline constexpr std::string_view kAzureStorageVersion = "2025-11-05";
inline constexpr std::string_view kAzuriteAccount = "devstoreaccount1";

// Whether `uri` names Azure Blob storage by its host (checked before the generic https backend).
bool is_azure_blob_uri(const Uri& uri);

struct AzureTarget {
  std::string account;
  std::string container;
  std::string prefix;    // "" or ending in '/'
  std::string endpoint;  // service URL: scheme://host[:port][/account for path-style emulators], no trailing '/'
  std::string endpoint_source;
  // https://<host>/<container>/<prefix>: the URI without its query; <endpoint>/<container>/<prefix>
  // when the endpoint is not the URI's host (--endpoint-url, a connection string's BlobEndpoint).
  std::string display;
};

// Splits a blob URI into account, container and prefix; `endpoint_override` (--endpoint-url)
// replaces the URI's origin.
Result<AzureTarget> parse_azure_uri(const Uri& uri, const std::string& endpoint_override);

// A connection string's settings (keys as written; lookups are case-insensitive).
struct AzureConnectionString {
  std::string account;
  std::string key;  // base64, as given
  std::string sas;  // without a leading '?'
  std::string blob_endpoint;
};
Result<AzureConnectionString> parse_azure_connection_string(std::string_view text);

enum class AzureAuthKind { kSharedKey, kSas, kBearer, kAnonymous };

struct AzureAuth {
  AzureAuthKind kind = AzureAuthKind::kAnonymous;
  std::string account;                 // SharedKey
  std::string key;                     // SharedKey: the decoded account key (bytes)
  std::string sas;                     // SAS: the query string, encoded, without '?'
  std::shared_ptr<TokenSource> token;  // Bearer
  std::string source;                  // "AZURE_STORAGE_KEY", "the SAS token in the URI", ...
  std::string fix;                     // what to check when the service refuses them
  std::string endpoint;                // a BlobEndpoint from a connection string, else ""
};

struct AzureCredentialOptions {
  bool anonymous = false;  // --no-sign-request
  net::HttpClientOptions http;
};

// The credentials for `target` (whose endpoint a connection string may change).
Result<AzureAuth> resolve_azure_auth(const Uri& uri, AzureTarget& target, const AzureCredentialOptions& options);

// A service principal (client secret or federated token) as a token source.
Result<std::shared_ptr<TokenSource>> azure_service_principal(const std::string& authority, const std::string& tenant,
                                                             const std::string& client_id,
                                                             const std::string& client_secret,
                                                             const std::string& federated_token_file,
                                                             const net::HttpClientOptions& http);

// SharedKey: the string to sign for an outgoing request (exposed to test it against the
// documented example), and signing in place (adds x-ms-date and Authorization).
std::string azure_shared_key_string_to_sign(const net::OutgoingRequest& request, std::string_view account);
Status azure_shared_key_sign(net::OutgoingRequest& request, std::string_view account, std::string_view decoded_key,
                             std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// RFC 1123 date, as x-ms-date wants it ("Sun, 11 Oct 2009 21:49:13 GMT").
std::string rfc1123_date(std::chrono::system_clock::time_point time);

}  // namespace airlock::store
