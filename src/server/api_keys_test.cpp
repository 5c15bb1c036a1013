#include "server/api_keys.h"

#include <gtest/gtest.h>

namespace airlock::server {
namespace {

TEST(ApiKeys, AllowsOnlyListedBearerKeys) {
  ApiKeys keys({"key-one", "key-two"});
  EXPECT_TRUE(keys.enabled());
  EXPECT_TRUE(keys.allows("Bearer key-one"));
  EXPECT_TRUE(keys.allows("bearer key-two"));
  EXPECT_TRUE(keys.allows("  BEARER   key-two  "));
  EXPECT_FALSE(keys.allows("Bearer key-three"));
  EXPECT_FALSE(keys.allows("Bearer key-on"));
  EXPECT_FALSE(keys.allows("Bearer key-one-"));
  EXPECT_FALSE(keys.allows("key-one"));
  EXPECT_FALSE(keys.allows("Basic key-one"));
  EXPECT_FALSE(keys.allows("Bearer "));
  EXPECT_FALSE(keys.allows(""));
}

TEST(ApiKeys, NoKeysAllowsEveryone) {
  ApiKeys keys;
  EXPECT_FALSE(keys.enabled());
  EXPECT_TRUE(keys.allows(""));
  ApiKeys empty({""});
  EXPECT_FALSE(empty.enabled());
}

}  // namespace
}  // namespace airlock::server
