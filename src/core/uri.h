// URIs as airlock meets them: store locations (s3://bucket/key, hdfs://host:port/path,
// https://account.blob.core.windows.net/c/p), model sources (ngc://org/team/model:ver?file=x,
// hf://org/name:rev?file=x) and plain local paths.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace airlock {

struct Uri {
  std::string scheme;     // lowercase; "file" for plain paths
  std::string userinfo;   // percent-decoded; empty when absent
  std::string host;       // for s3/gs: the bucket; for ngc/hf: the first path segment
  std::optional<int> port;
  std::string path;       // percent-decoded; starts with '/' when an authority is present
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::string fragment;

  // The first value of query parameter `key`, if present.
  std::optional<std::string> query_param(std::string_view key) const;
  // scheme://host[:port]: what a redirect must keep to keep sending credentials.
  std::string origin() const;
  // The URI written back out, percent-encoding what needs it. Userinfo is left out unless
  // `with_userinfo`: a URI shown to a person must never carry a password.
  std::string to_string(bool with_userinfo = false) const;
};

// Parses an absolute URI or a local path. A string without "scheme://" (or "file:" form) is a
// local path: scheme "file", path as given. Errors name the offending part.
Result<Uri> parse_uri(std::string_view text);

// RFC 3986 percent-encoding of everything except unreserved characters; `keep` lists extra
// characters to leave as they are (e.g. "/" for paths).
std::string percent_encode(std::string_view text, std::string_view keep = "");
// Decodes %XX; '+' is left alone (it is only a space in form bodies). Bad escapes are errors.
Result<std::string> percent_decode(std::string_view text);

}  // namespace airlock
