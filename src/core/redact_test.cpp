#include "core/redact.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace airlock {
namespace {

void expect_hidden(const std::string& text, const std::string& secret) {
  std::string out = redact(text);
  EXPECT_EQ(out.find(secret), std::string::npos) << out;
  EXPECT_NE(out.find("***"), std::string::npos) << out;
}

TEST(Redact, AuthorizationHeaders) {
  expect_hidden("Authorization: Bearer abcdef123456", "abcdef123456");
  expect_hidden("authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA");
  expect_hidden("{\"Authorization\": \"AWS4-HMAC-SHA256 Credential=AKIA/2024, Signature=deadbeef\"}", "deadbeef");
  expect_hidden("x-amz-security-token: FwoGZXIvYXdzEJr", "FwoGZXIvYXdzEJr");
  expect_hidden("x-access-key: k_123456789", "k_123456789");
  // The scheme word stays, so a reader still knows what was sent.
  EXPECT_NE(redact("Authorization: Bearer abcdef123456").find("Bearer"), std::string::npos);
}

TEST(Redact, PresignedQueryStrings) {
  expect_hidden("GET https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4&X-Amz-Signature=0123abcd&x=1", "0123abcd");
  expect_hidden("https://acct.blob.core.windows.net/c/b?sv=2021&sig=AbCd%2Bef%3D&se=2030", "AbCd%2Bef%3D");
  expect_hidden("https://x/y?access_token=ya29.a0Af", "ya29.a0Af");
  std::string out = redact("https://x/y?file=config.json&page=2");
  EXPECT_EQ(out, "https://x/y?file=config.json&page=2");
}

TEST(Redact, TokenShapesAndUrlCredentials) {
  expect_hidden("key nvapi-AbCdEf0123456789 was rejected", "nvapi-AbCdEf0123456789");
  expect_hidden("token hf_abcdefghijklmnopqrstuvwxyz012345", "hf_abcdefghijklmnopqrstuvwxyz012345");
  expect_hidden("https://user:hunter22@proxy.local:3128/", "hunter22");
  // Ordinary words that merely share a prefix are left alone.
  EXPECT_EQ(redact("file hf_config.json"), "file hf_config.json");
}

TEST(Redact, RegisteredSecretsAnywhere) {
  register_secret("s3cr3t-value-42");
  expect_hidden("the server said: s3cr3t-value-42 is invalid", "s3cr3t-value-42");
  register_secret("abc");  // too short to register: would garble ordinary text
  EXPECT_EQ(redact("abc def"), "abc def");
}

TEST(Redact, EnvironmentSecrets) {
  ::setenv("NGC_API_KEY", "legacykey0123456789", 1);
  register_secrets_from_environment();
  expect_hidden("using legacykey0123456789", "legacykey0123456789");
  ::unsetenv("NGC_API_KEY");
}

}  // namespace
}  // namespace airlock
