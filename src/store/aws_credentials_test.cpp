#include "store/aws_credentials.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "testing.h"

namespace airlock::store {
namespace {

// Sets variables for one test and puts the old values back.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> values) {
    for (const char* name : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                             "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ROLE_ARN",
                             "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_REGION", "AWS_DEFAULT_REGION"}) {
      save(name);
      ::unsetenv(name);
    }
    for (const auto& [name, value] : values) {
      save(name);
      ::setenv(name, value, 1);
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }

 private:
  void save(const char* name) {
    if (saved_.count(name)) return;
    const char* value = std::getenv(name);
    saved_[name] = value ? std::optional<std::string>(value) : std::nullopt;
  }
  std::map<std::string, std::optional<std::string>> saved_;
};

TEST(StoreAwsConfig, ParsesIniWithNestedBlocks) {
  IniFile ini = parse_ini(
      "# comment\n[default]\nregion = eu-west-1\n; other comment\n[profile dev]\naws_access_key_id=AKID\n"
      "s3 =\n  addressing_style = path\n  endpoint_url = http://minio:9000\nregion=us-west-2\r\n");
  EXPECT_EQ(ini["default"]["region"], "eu-west-1");
  EXPECT_EQ(ini["profile dev"]["aws_access_key_id"], "AKID");
  EXPECT_EQ(ini["profile dev"]["s3.addressing_style"], "path");
  EXPECT_EQ(ini["profile dev"]["s3.endpoint_url"], "http://minio:9000");
  EXPECT_EQ(ini["profile dev"]["region"], "us-west-2");
}

class StoreCredentials : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_text(dir_ / "credentials",
                        "[default]\naws_access_key_id = DEFAULTKEY\naws_secret_access_key = defaultsecret\n"
                        "[dev]\naws_access_key_id = DEVKEY\naws_secret_access_key = devsecret\n"
                        "aws_session_token = devtoken\n[half]\naws_access_key_id = ONLYKEY\n");
    testing::write_text(dir_ / "config",
                        "[profile cfg]\naws_access_key_id = CFGKEY\naws_secret_access_key = cfgsecret\n");
  }
  std::string creds() const { return (dir_ / "credentials").string(); }
  std::string config() const { return (dir_ / "config").string(); }
  testing::TempDir dir_;
};

TEST_F(StoreCredentials, EnvironmentComesFirst) {
  ScopedEnv env({{"AWS_ACCESS_KEY_ID", "ENVKEY"},
                 {"AWS_SECRET_ACCESS_KEY", "envsecret"},
                 {"AWS_PROFILE", "dev"},
                 {"AWS_SHARED_CREDENTIALS_FILE", creds().c_str()}});
  auto provider = resolve_aws_credentials({});
  ASSERT_TRUE(provider.ok()) << provider.error().message();
  EXPECT_EQ((*provider)->get()->access_key_id, "ENVKEY") << "AWS_PROFILE does not outrank the environment";
}

TEST_F(StoreCredentials, ProfileFlagOutranksTheEnvironment) {
  ScopedEnv env({{"AWS_ACCESS_KEY_ID", "ENVKEY"},
                 {"AWS_SECRET_ACCESS_KEY", "envsecret"},
                 {"AWS_SHARED_CREDENTIALS_FILE", creds().c_str()},
                 {"AWS_CONFIG_FILE", config().c_str()}});
  CredentialOptions options;
  options.profile = "dev";
  auto provider = resolve_aws_credentials(options);
  ASSERT_TRUE(provider.ok()) << provider.error().message();
  auto got = (*provider)->get();
  EXPECT_EQ(got->access_key_id, "DEVKEY");
  EXPECT_EQ(got->session_token, "devtoken");
  EXPECT_NE((*provider)->source().find("profile dev"), std::string::npos);
}

TEST_F(StoreCredentials, DefaultProfileAndConfigFile) {
  ScopedEnv env({{"AWS_SHARED_CREDENTIALS_FILE", creds().c_str()}, {"AWS_CONFIG_FILE", config().c_str()}});
  EXPECT_EQ((*resolve_aws_credentials({}))->get()->access_key_id, "DEFAULTKEY");
  CredentialOptions options;
  options.profile = "cfg";
  EXPECT_EQ((*resolve_aws_credentials(options))->get()->access_key_id, "CFGKEY");
}

TEST_F(StoreCredentials, PreciseErrors) {
  {
    ScopedEnv env({{"AWS_ACCESS_KEY_ID", "ENVKEY"}});
    auto provider = resolve_aws_credentials({});
    ASSERT_FALSE(provider.ok());
    EXPECT_NE(provider.error().message().find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
  }
  {
    ScopedEnv env({{"AWS_SHARED_CREDENTIALS_FILE", creds().c_str()}, {"AWS_PROFILE", "missing"}});
    auto provider = resolve_aws_credentials({});
    ASSERT_FALSE(provider.ok());
    EXPECT_NE(provider.error().message().find("'missing'"), std::string::npos) << provider.error().message();
  }
  {
    ScopedEnv env({{"AWS_SHARED_CREDENTIALS_FILE", creds().c_str()}});
    CredentialOptions options;
    options.profile = "half";
    auto provider = resolve_aws_credentials(options);
    ASSERT_FALSE(provider.ok());
    EXPECT_NE(provider.error().message().find("aws_secret_access_key"), std::string::npos);
  }
  {
    ScopedEnv env(
        {{"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"}, {"AWS_CONFIG_FILE", "/nonexistent/config"}});
    auto provider = resolve_aws_credentials({});
    ASSERT_FALSE(provider.ok());
    EXPECT_EQ(provider.error().code(), ErrorCode::kUnauthenticated);
    EXPECT_NE(provider.error().message().find("--no-sign-request"), std::string::npos) << provider.error().message();
  }
}

TEST(StoreStsAnswer, ParsesCredentialsAndErrors) {
  auto ok =
      parse_sts_credentials(R"(<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult><Credentials><SessionToken>tok</SessionToken><SecretAccessKey>sec</SecretAccessKey>
  <Expiration>2014-10-24T23:00:23Z</Expiration><AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId></Credentials>
  </AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>)");
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ(ok->access_key_id, "ASgeIAIOSFODNN7EXAMPLE");
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*ok->expiration), 1414191623);
  auto refused = parse_sts_credentials(
      "<ErrorResponse><Error><Code>ExpiredTokenException</Code><Message>Token "
      "expired</Message></Error></ErrorResponse>");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(refused.error().message().find("ExpiredTokenException"), std::string::npos);
}

}  // namespace
}  // namespace airlock::store
