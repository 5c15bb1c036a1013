// URL helpers the HTTP client needs and its callers reuse: resolving a redirect's Location,
// comparing origins (credentials must not follow a redirect to another origin), and the form of
// a URL that is safe to show (presigned query strings carry signatures).
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace airlock::net {

// Resolves `reference` (absolute, scheme-relative "//host/p", absolute-path "/p" or relative
// "p") against `base`, as a browser would for a Location header. An absolute `reference` is
// returned unchanged, so that a presigned URL is never re-encoded.
Result<std::string> resolve_url(std::string_view base, std::string_view reference);

// "scheme://host:port" with scheme and host lowercased and the default port filled in, or ""
// when `url` does not parse (callers treat "" as a different origin: the safe answer).
std::string url_origin(std::string_view url);

// Lowercased scheme of an absolute URL ("" when there is none).
std::string url_scheme(std::string_view url);

// scheme://host[:port]/path: no userinfo, no query, no fragment. Error messages and log lines use
// this form so that tokens in query strings (X-Amz-Signature, sig, ...) never reach them.
std::string display_url(std::string_view url);

}  // namespace airlock::net
