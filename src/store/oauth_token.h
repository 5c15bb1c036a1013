// OAuth2 bearer tokens for the stores that sign with them (GCS, Azure service principals and
// workload identity): fetched on the caller's thread, cached, and refreshed before they expire,
// so that a request signer (which runs on the HTTP event loop and must never block) only ever
// reads the current token.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "net/http_client.h"

namespace airlock::store {

struct AccessToken {
  std::string value;
  std::chrono::system_clock::time_point expires_at;
};

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // A token valid for a while yet: the cached one, or a fresh one when it is missing or about to
  // expire (a request to a token endpoint: never call it from an HTTP callback).
  virtual Result<std::string> get() = 0;
  // The token last obtained by get(), without refreshing (for request signers).
  virtual std::optional<std::string> current() const = 0;
  // Where the token comes from, for messages ("service account a@b.iam.gserviceaccount.com
  // (GOOGLE_APPLICATION_CREDENTIALS=/keys/sa.json)"); never the secret itself.
  virtual std::string source() const = 0;
};

using TokenFetcher = std::function<Result<AccessToken>()>;
using TokenClock = std::function<std::chrono::system_clock::time_point()>;

// Caches what `fetch` returns and fetches again when less than five minutes (or half the
// token's lifetime, for short-lived tokens) remain. Concurrent callers share one fetch.
std::shared_ptr<TokenSource> cached_token_source(TokenFetcher fetch, std::string source, TokenClock clock = {});

// A token given as is (tests, and tokens handed over by another tool).
std::shared_ptr<TokenSource> static_token_source(std::string token, std::string source);

// The answer of an OAuth2 token endpoint (RFC 6749 section 5.1: access_token, expires_in,
// token_type); `now` dates the expiry. A missing expires_in counts as one hour.
Result<AccessToken> parse_token_response(std::string_view body, std::chrono::system_clock::time_point now);

// POSTs a form (`fields`, encoded here) to a token endpoint and parses the answer. Errors
// (RFC 6749 section 5.2: error, error_description) become kUnauthenticated for 400/401 answers,
// with `who` ("service account x from GOOGLE_APPLICATION_CREDENTIALS=...") saying what to fix.
Result<AccessToken> request_token(net::HttpClient& client, const std::string& url,
                                  const std::vector<std::pair<std::string, std::string>>& fields,
                                  const std::string& who, const net::HttpHeaders& extra_headers = {});

// application/x-www-form-urlencoded, each name and value percent-encoded.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

// A small HTTP client of its own for token endpoints: request signers hold token sources, so a
// source must not own (or share) the client whose event loop runs those signers.
Result<std::shared_ptr<net::HttpClient>> token_http_client(const net::HttpClientOptions& like);

}  // namespace airlock::store
