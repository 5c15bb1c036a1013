// Web identity credentials (EKS IRSA and other pods): the token file exchanged with STS
// (tests/servers/sts_server.py follows the AssumeRoleWithWebIdentity reference), the answer
// used against s3rver, refreshed before it expires, and a refused token reported precisely.
#include <gtest/gtest.h>

#include "core/json.h"
#include "store/aws_credentials.h"
#include "store/store_factory.h"
#include "store_servers.h"
#include "testing.h"

namespace airlock::testing {
namespace {

class StoreWebIdentity : public ::testing::Test {
 protected:
  void start(int duration_seconds) {
    isolate_aws_environment();
    ::unsetenv("AWS_ACCESS_KEY_ID");
    ::unsetenv("AWS_SECRET_ACCESS_KEY");
    write_text(dir_ / "token", "eyJhbGciOiJSUzI1NiJ9.pod-identity.signature\n");
    ASSERT_TRUE(
        sts_.start({"/usr/bin/python3", (project_root() / "tests" / "servers" / "sts_server.py").string(), "--token",
                    "eyJhbGciOiJSUzI1NiJ9.pod-identity.signature", "--role-arn",
                    "arn:aws:iam::111122223333:role/model-reader", "--duration", std::to_string(duration_seconds)}))
        << sts_.last_output();
    ::setenv("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/model-reader", 1);
    ::setenv("AWS_WEB_IDENTITY_TOKEN_FILE", (dir_ / "token").c_str(), 1);
    ::setenv("AWS_ENDPOINT_URL_STS", ("http://127.0.0.1:" + std::to_string(sts_.port()) + "/").c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("AWS_ROLE_ARN");
    ::unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    ::unsetenv("AWS_ENDPOINT_URL_STS");
    isolate_aws_environment();
  }
  int sts_calls() {
    auto out = run_command({"curl", "-s", "http://127.0.0.1:" + std::to_string(sts_.port()) + "/count"}).out;
    auto json = parse_json(out, "count");
    return json.ok() ? (*json)["count"].get<int>() : -1;
  }

  TempDir dir_;
  ServerProcess sts_;
};

TEST_F(StoreWebIdentity, TokenIsExchangedAndUsedAgainstTheStore) {
  start(3600);
  auto provider = store::resolve_aws_credentials({});
  ASSERT_TRUE(provider.ok()) << provider.error().message();
  EXPECT_NE((*provider)->source().find("web identity"), std::string::npos) << (*provider)->source();
  auto credentials = (*provider)->get();
  ASSERT_TRUE(credentials.ok()) << credentials.error().message();
  EXPECT_EQ(credentials->access_key_id, "S3RVER");
  EXPECT_EQ(credentials->session_token, "session-token-1-abcdefgh");
  ASSERT_TRUE(credentials->expiration.has_value());
  // Cached: a second call within the validity does not ask STS again.
  ASSERT_TRUE((*provider)->get().ok());
  EXPECT_EQ(sts_calls(), 1);

  S3rver s3;
  ASSERT_TRUE(s3.start({"irsa"})) << s3.last_output();
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  store::StoreConfig config;
  config.s3.endpoint_url = s3.endpoint();
  auto opened = store::open_store("s3://irsa/models", config);
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  Status written = (*opened)->write_string("a.txt", "from a pod");
  ASSERT_TRUE(written.ok()) << error_code_name(written.error().code()) << ": " << written.error().message();
  auto back = (*opened)->read_to_string("a.txt", 100);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, "from a pod");
}

TEST_F(StoreWebIdentity, CredentialsAreRefreshedBeforeTheyExpire) {
  start(120);  // inside the five-minute refresh margin: every use asks again
  auto provider = store::resolve_aws_credentials({});
  ASSERT_TRUE(provider.ok()) << provider.error().message();
  auto first = (*provider)->get();
  auto second = (*provider)->get();
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first->session_token, second->session_token);
  EXPECT_EQ(sts_calls(), 2);
}

TEST_F(StoreWebIdentity, RefusedTokenNamesTheRole) {
  start(3600);
  write_text(dir_ / "token", "eyJ.wrong-token.sig");
  auto provider = store::resolve_aws_credentials({});
  ASSERT_TRUE(provider.ok());
  auto credentials = (*provider)->get();
  ASSERT_FALSE(credentials.ok());
  EXPECT_EQ(credentials.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(credentials.error().message().find("AWS_ROLE_ARN"), std::string::npos) << credentials.error().message();
  EXPECT_NE(credentials.error().message().find("InvalidIdentityToken"), std::string::npos)
      << credentials.error().message();
  EXPECT_EQ(credentials.error().message().find("wrong-token"), std::string::npos) << "the token must not be shown";
}

}  // namespace
}  // namespace airlock::testing
