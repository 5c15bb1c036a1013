// AWS Signature Version 4, header form, written here rather than taken from libcurl (7.88's
// CURLOPT_AWS_SIGV4 mis-canonicalises query strings, for example '+' in continuation tokens, and
// never adds x-amz-content-sha256). Checked against AWS's published test-suite vectors.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http_request.h"

namespace airlock::store {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // temporary credentials (STS); empty otherwise
  std::optional<std::chrono::system_clock::time_point> expiration;
  std::string source;  // where they came from, for messages: "environment", "profile dev", ...
};

// The parts of a request that a signature covers.
struct SigningInput {
  std::string method;
  std::string path;                                          // as in the URL (percent-encoded or raw)
  std::string query;                                         // the raw query string, without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // every header to sign, host and x-amz-date included
  std::string payload_hash;                                  // hex sha256 of the body, or UNSIGNED-PAYLOAD
};

struct SigV4Scope {
  std::string region;
  std::string service;
  // Remove "." / ".." segments and repeated slashes (every AWS service but S3).
  bool normalize_path = false;
};

struct SigV4Result {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
  std::string signed_headers;
  std::string authorization;  // the Authorization header value
};

inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

// Each step on its own, so tests can compare them with the published intermediate values.
std::string sigv4_canonical_uri(std::string_view path, bool normalize);
std::string sigv4_canonical_query(std::string_view query);
// Lower-cased names, values trimmed with whitespace runs collapsed, repeated names joined with
// ',', sorted. Returns {"name:value\n...", "name;name"}.
std::pair<std::string, std::string> sigv4_canonical_headers(
    const std::vector<std::pair<std::string, std::string>>& headers);

// Signs `input` at `amz_date` ("20150830T123600Z").
SigV4Result sigv4_sign(const SigningInput& input, const AwsCredentials& credentials, const SigV4Scope& scope,
                       std::string_view amz_date);

// "YYYYMMDDTHHMMSSZ" for `time` (UTC).
std::string amz_date(std::chrono::system_clock::time_point time);

// Signs an outgoing HTTP request in place: adds x-amz-date, x-amz-security-token (temporary
// credentials), x-amz-content-sha256 when the caller set none (the empty-body hash for no body,
// else UNSIGNED-PAYLOAD) and Authorization, covering host, every x-amz-* header, Content-Type,
// Content-MD5 and Range.
Status sigv4_sign_request(net::OutgoingRequest& request, const AwsCredentials& credentials, const SigV4Scope& scope,
                          std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace airlock::store
