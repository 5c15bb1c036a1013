// AWS credentials and shared configuration, found in the order the AWS CLI and SDKs use:
//   1. environment: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (legacy
//      AWS_SECURITY_TOKEN), skipped when a profile was named with --profile;
//   2. web identity (EKS IRSA and other pods): AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, or the
//      profile's role_arn + web_identity_token_file, exchanged with STS
//      AssumeRoleWithWebIdentity (unsigned) and refreshed before they expire;
//   3. ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE), section [<profile>];
//   4. ~/.aws/config (AWS_CONFIG_FILE), section [profile <profile>] or [default].
// The profile is --profile, else AWS_PROFILE, else "default". Anonymous access is only ever
// chosen explicitly (--no-sign-request).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/result.h"
#include "net/http_client.h"
#include "store/sigv4.h"

namespace airlock::store {

// An INI file as the AWS tools write it: sections of `key = value`, '#'/';' comments, and
// nested blocks ("s3 =" followed by indented lines) flattened to "s3.key".
using IniSection = std::map<std::string, std::string>;
using IniFile = std::map<std::string, IniSection>;
IniFile parse_ini(std::string_view text);

// The settings of one profile, merged from the config and credentials files.
struct AwsProfile {
  std::string name;
  IniSection config;       // from ~/.aws/config
  IniSection credentials;  // from ~/.aws/credentials
  bool found = false;      // the profile appears in at least one file
};
// Reads both files (missing files are fine; unreadable ones are errors).
Result<AwsProfile> load_aws_profile(const std::string& name);

// The profile name to use: `flag` when given, else AWS_PROFILE, else "default".
std::string aws_profile_name(const std::string& flag);

class CredentialProvider {
 public:
  virtual ~CredentialProvider() = default;
  // Current credentials; temporary ones are refreshed a few minutes before they expire (which
  // may block on a request to STS: never call it from an HTTP callback).
  virtual Result<AwsCredentials> get() = 0;
  // The credentials last obtained by get(), without refreshing: what a request signer, which
  // runs on the HTTP client's event loop, uses.
  virtual std::optional<AwsCredentials> current() const = 0;
  // Where the credentials come from ("environment", "profile dev (~/.aws/credentials)", ...).
  virtual std::string source() const = 0;
};

struct CredentialOptions {
  std::string profile;       // --profile; empty: AWS_PROFILE or "default"
  std::string region;        // for the regional STS endpoint
  std::string sts_endpoint;  // override; else AWS_ENDPOINT_URL_STS, else https://sts.<region>.amazonaws.com
  // TLS and timeouts for STS. The provider makes its own client from them: request signers hold
  // the provider, so it must not own the client whose event loop runs those signers.
  net::HttpClientOptions http;
};

// Walks the chain and returns the first provider that has credentials, or an error naming
// every place that was looked at and the variables that would fix it.
Result<std::shared_ptr<CredentialProvider>> resolve_aws_credentials(const CredentialOptions& options);

// Credentials given directly (tests, and callers that already hold them).
std::shared_ptr<CredentialProvider> static_credentials(AwsCredentials credentials);

// Parses an STS AssumeRoleWithWebIdentity answer (or its ErrorResponse).
Result<AwsCredentials> parse_sts_credentials(std::string_view xml);

}  // namespace airlock::store
