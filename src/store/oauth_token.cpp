#include "store/oauth_token.h"

#include <fmt/format.h>

#include <mutex>

#include "core/json.h"
#include "core/redact.h"
#include "core/uri.h"
#include "net/http_url.h"

namespace airlock::store {
namespace {

using Clock = std::chrono::system_clock;

class CachedTokenSource final : public TokenSource {
 public:
  CachedTokenSource(TokenFetcher fetch, std::string source, TokenClock clock)
      : fetch_(std::move(fetch)), source_(std::move(source)), clock_(std::move(clock)) {
    if (!clock_) clock_ = [] { return Clock::now(); };
  }

  Result<std::string> get() override {
    std::lock_guard fetching(fetch_mutex_);
    const Clock::time_point now = clock_();
    {
      std::lock_guard lock(mutex_);
      if (token_ && now < refresh_at_) return token_->value;
    }
    auto fresh = fetch_();
    if (!fresh.ok()) return std::move(fresh).error();
    register_secret(fresh->value);
    // Refresh five minutes early, or at half-life for tokens that live less than ten minutes,
    // so that a request signed now is not refused on arrival.
    const auto lifetime = fresh->expires_at - now;
    const auto margin = std::min<Clock::duration>(std::chrono::minutes(5), lifetime / 2);
    std::lock_guard lock(mutex_);
    token_ = std::move(fresh).value();
    refresh_at_ = token_->expires_at - margin;
    return token_->value;
  }

  std::optional<std::string> current() const override {
    std::lock_guard lock(mutex_);
    if (!token_) return std::nullopt;
    return token_->value;
  }

  std::string source() const override { return source_; }

 private:
  TokenFetcher fetch_;
  std::string source_;
  TokenClock clock_;
  std::mutex fetch_mutex_;  // one fetch at a time; the others wait for its token
  mutable std::mutex mutex_;
  std::optional<AccessToken> token_;
  Clock::time_point refresh_at_{};
};

class StaticTokenSource final : public TokenSource {
 public:
  StaticTokenSource(std::string token, std::string source) : token_(std::move(token)), source_(std::move(source)) {
    register_secret(token_);
  }
  Result<std::string> get() override { return token_; }
  std::optional<std::string> current() const override { return token_; }
  std::string source() const override { return source_; }

 private:
  std::string token_;
  std::string source_;
};

}  // namespace

std::shared_ptr<TokenSource> cached_token_source(TokenFetcher fetch, std::string source, TokenClock clock) {
  return std::make_shared<CachedTokenSource>(std::move(fetch), std::move(source), std::move(clock));
}

std::shared_ptr<TokenSource> static_token_source(std::string token, std::string source) {
  return std::make_shared<StaticTokenSource>(std::move(token), std::move(source));
}

Result<AccessToken> parse_token_response(std::string_view body, Clock::time_point now) {
  AIRLOCK_ASSIGN_OR_RETURN(Json json, parse_json(body, "token endpoint answer"));
  if (!json.is_object() || !json.contains("access_token") || !json["access_token"].is_string() ||
      json["access_token"].get<std::string>().empty()) {
    return parse_error("the token endpoint's answer has no access_token");
  }
  if (json.contains("token_type") && json["token_type"].is_string()) {
    const std::string type = json["token_type"].get<std::string>();
    if (type != "Bearer" && type != "bearer") {
      return Error(ErrorCode::kUnsupported,
                   fmt::format("the token endpoint issued a '{}' token, not a Bearer token", type));
    }
  }
  AccessToken token;
  token.value = json["access_token"].get<std::string>();
  std::int64_t seconds = 3600;
  if (json.contains("expires_in")) {
    // Numbers in most answers; Microsoft's v1 endpoints send them as strings.
    const Json& expires = json["expires_in"];
    if (expires.is_number_integer()) {
      seconds = expires.get<std::int64_t>();
    } else if (expires.is_string()) {
      try {
        seconds = std::stoll(expires.get<std::string>());
      } catch (...) {
        return parse_error("the token endpoint's expires_in is not a number");
      }
    }
  }
  if (seconds <= 0) return parse_error("the token endpoint issued a token that has already expired");
  token.expires_at = now + std::chrono::seconds(seconds);
  return token;
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    out += percent_encode(name);
    out += '=';
    out += percent_encode(value);
  }
  return out;
}

Result<AccessToken> request_token(net::HttpClient& client, const std::string& url,
                                  const std::vector<std::pair<std::string, std::string>>& fields,
                                  const std::string& who, const net::HttpHeaders& extra_headers) {
  net::HttpRequest request = net::HttpRequest::post(url, form_encode(fields), "application/x-www-form-urlencoded");
  for (const auto& [name, value] : extra_headers) request.headers.set(name, value);
  request.headers.set("Accept", "application/json");
  // Asking twice for a token costs nothing.
  request.options.idempotent = true;
  const Clock::time_point now = Clock::now();
  auto response = client.send(std::move(request));
  if (!response.ok()) {
    return response.error().with_context(
        fmt::format("getting an access token for {} from {}", who, net::display_url(url)));
  }
  if (!response->ok()) {
    std::string detail = fmt::format("HTTP {}", response->status);
    auto json = parse_json(response->body, "token error");
    if (json.ok() && json->is_object()) {
      if (json->contains("error") && (*json)["error"].is_string()) {
        detail += ": " + (*json)["error"].get<std::string>();
      }
      if (json->contains("error_description") && (*json)["error_description"].is_string()) {
        std::string description = (*json)["error_description"].get<std::string>();
        // Microsoft's descriptions run to several lines of trace ids.
        if (auto newline = description.find_first_of("\r\n"); newline != std::string::npos) description.resize(newline);
        detail += ": " + description;
      }
    }
    const ErrorCode code = response->status == 400 || response->status == 401
                               ? ErrorCode::kUnauthenticated
                               : net::error_code_for_status(response->status);
    return Error(code, redact(fmt::format("{} refused to issue an access token for {}: {}", net::display_url(url), who,
                                          detail)));
  }
  auto token = parse_token_response(response->body, now);
  if (!token.ok()) return token.error().with_context(net::display_url(url));
  return token;
}

Result<std::shared_ptr<net::HttpClient>> token_http_client(const net::HttpClientOptions& like) {
  net::HttpClientOptions options = like;
  options.event_loops = 1;
  options.max_transfers = 4;
  options.max_transfers_per_host = 4;
  AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<net::HttpClient> client, net::HttpClient::create(std::move(options)));
  return std::shared_ptr<net::HttpClient>(std::move(client));
}

}  // namespace airlock::store
