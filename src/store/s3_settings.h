// Where and how to reach S3 (or an S3-compatible store): endpoint, region, addressing style and
// TLS, from flags, the AWS variables and KServe's variables, in that order:
//   endpoint  --endpoint-url, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's endpoint_url,
//             KServe's S3_ENDPOINT (+ S3_USE_HTTPS: "0" means http unless the value has a scheme),
//             else https://s3.<region>.amazonaws.com
//   region    --region, AWS_REGION, AWS_DEFAULT_REGION, the profile's region, else us-east-1
//   address   --s3-addressing path|virtual|auto, S3_USER_VIRTUAL_BUCKET=true (KServe's spelling),
//             the profile's s3.addressing_style; auto = path style for custom endpoints (MinIO,
//             Ceph, s3rver) and for bucket names that cannot be a TLS host name, virtual otherwise
//   TLS       S3_VERIFY_SSL=0|false turns verification off; AWS_CA_BUNDLE names a CA file (a
//             missing file is an error). The CLI's --ca-bundle / --insecure win over both.
#pragma once

#include <optional>
#include <string>

#include "core/result.h"

namespace airlock::store {

enum class S3Addressing { kAuto, kPath, kVirtual };

struct S3Options {
  std::string endpoint_url;
  std::string region;
  std::string profile;
  std::string addressing;  // "", "auto", "path", "virtual"
  bool no_sign_request = false;
};

struct S3Settings {
  std::string endpoint;  // scheme://host[:port][/base], no trailing slash
  std::string endpoint_source;
  bool custom_endpoint = false;
  std::string region;
  S3Addressing addressing = S3Addressing::kAuto;
  bool anonymous = false;
  std::string profile;             // as given with --profile (empty: AWS_PROFILE / default)
  std::optional<bool> verify_tls;  // from S3_VERIFY_SSL
  std::string ca_bundle;           // from AWS_CA_BUNDLE
};

Result<S3Settings> resolve_s3_settings(const S3Options& options);

// Whether requests for `bucket` go to <bucket>.<endpoint host> (virtual-hosted style).
bool s3_uses_virtual_host(const S3Settings& settings, std::string_view bucket);

// The URL of `key` in `bucket` ("" for the bucket itself), each key segment percent-encoded
// once; `query` is appended as given (already encoded).
std::string s3_url(const S3Settings& settings, std::string_view bucket, std::string_view key,
                   std::string_view query = "");

// Checks a bucket name against S3's rules (3-63 characters of a-z 0-9 . -).
Status validate_bucket_name(std::string_view bucket);

}  // namespace airlock::store
