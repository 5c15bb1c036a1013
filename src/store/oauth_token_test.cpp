#include "store/oauth_token.h"

#include <gtest/gtest.h>

namespace airlock::store {
namespace {

using Clock = std::chrono::system_clock;

TEST(OAuthToken, ParsesTokenEndpointAnswers) {
  const auto now = Clock::now();
  auto token = parse_token_response(R"({"access_token": "ya29.abc", "expires_in": 3599, "token_type": "Bearer"})", now);
  ASSERT_TRUE(token.ok()) << token.error().message();
  EXPECT_EQ(token->value, "ya29.abc");
  EXPECT_EQ(token->expires_at, now + std::chrono::seconds(3599));
  // Microsoft's v1 endpoints send numbers as strings.
  auto string_expiry = parse_token_response(R"({"access_token": "eyJ0", "expires_in": "60"})", now);
  ASSERT_TRUE(string_expiry.ok());
  EXPECT_EQ(string_expiry->expires_at, now + std::chrono::seconds(60));
  EXPECT_FALSE(parse_token_response(R"({"expires_in": 60})", now).ok());
  EXPECT_FALSE(parse_token_response(R"({"access_token": "x", "token_type": "mac"})", now).ok());
  EXPECT_FALSE(parse_token_response(R"({"access_token": "x", "expires_in": 0})", now).ok());
  EXPECT_FALSE(parse_token_response("not json", now).ok());
}

TEST(OAuthToken, CachesAndRefreshesBeforeExpiry) {
  Clock::time_point now = Clock::now();
  int fetches = 0;
  auto source = cached_token_source(
      [&]() -> Result<AccessToken> {
        ++fetches;
        return AccessToken{"token-" + std::to_string(fetches), now + std::chrono::hours(1)};
      },
      "test", [&] { return now; });
  EXPECT_FALSE(source->current().has_value());
  ASSERT_EQ(*source->get(), "token-1");
  ASSERT_EQ(*source->get(), "token-1");
  EXPECT_EQ(fetches, 1);
  // Five minutes before expiry a new one is fetched, so a request signed now is not refused.
  now += std::chrono::minutes(54);
  EXPECT_EQ(*source->get(), "token-1");
  now += std::chrono::minutes(2);
  EXPECT_EQ(*source->get(), "token-2");
  EXPECT_EQ(*source->current(), "token-2");
  EXPECT_EQ(fetches, 2);
}

TEST(OAuthToken, ShortLivedTokensRefreshAtHalfLife) {
  Clock::time_point now = Clock::now();
  int fetches = 0;
  auto source = cached_token_source(
      [&]() -> Result<AccessToken> {
        ++fetches;
        return AccessToken{"t" + std::to_string(fetches), now + std::chrono::seconds(120)};
      },
      "test", [&] { return now; });
  ASSERT_TRUE(source->get().ok());
  now += std::chrono::seconds(59);
  ASSERT_TRUE(source->get().ok());
  EXPECT_EQ(fetches, 1);
  now += std::chrono::seconds(2);
  ASSERT_TRUE(source->get().ok());
  EXPECT_EQ(fetches, 2);
}

TEST(OAuthToken, AFailedFetchIsReturnedAndRetriedNextTime) {
  bool fail = true;
  auto source = cached_token_source(
      [&]() -> Result<AccessToken> {
        if (fail) return Error(ErrorCode::kUnauthenticated, "refused: check GOOGLE_APPLICATION_CREDENTIALS");
        return AccessToken{"ok", Clock::now() + std::chrono::hours(1)};
      },
      "test");
  auto first = source->get();
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code(), ErrorCode::kUnauthenticated);
  fail = false;
  EXPECT_EQ(*source->get(), "ok");
}

TEST(OAuthToken, FormEncodingEscapesEverythingReserved) {
  EXPECT_EQ(form_encode({{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"}, {"a b", "c&d=e+f/g"}}),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&a%20b=c%26d%3De%2Bf%2Fg");
}

}  // namespace
}  // namespace airlock::store
