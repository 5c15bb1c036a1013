#include "store/s3_settings.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "testing.h"

namespace airlock::store {
namespace {

class StoreS3Settings : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kNames) {
      if (const char* value = std::getenv(name)) saved_[name] = value;
      ::unsetenv(name);
    }
    ::setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
  }
  void TearDown() override {
    for (const char* name : kNames) ::unsetenv(name);
    for (const auto& [name, value] : saved_) ::setenv(name.c_str(), value.c_str(), 1);
  }
  static constexpr const char* kNames[] = {"AWS_REGION",          "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
                                           "AWS_ENDPOINT_URL_S3", "S3_ENDPOINT",        "S3_USE_HTTPS",
                                           "S3_VERIFY_SSL",       "AWS_CA_BUNDLE",      "S3_USER_VIRTUAL_BUCKET",
                                           "AWS_PROFILE",         "AWS_CONFIG_FILE"};
  std::map<std::string, std::string> saved_;
};

TEST_F(StoreS3Settings, AwsDefaultsAreVirtualHosted) {
  ::setenv("AWS_REGION", "eu-central-1", 1);
  auto s = resolve_s3_settings({});
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->region, "eu-central-1");
  EXPECT_EQ(s3_url(*s, "models", "a b/c+d"), "https://models.s3.eu-central-1.amazonaws.com/a%20b/c%2Bd");
  // Dots in the name would break the wildcard certificate: path style.
  EXPECT_EQ(s3_url(*s, "my.models", "k"), "https://s3.eu-central-1.amazonaws.com/my.models/k");
}

TEST_F(StoreS3Settings, KServeEndpointVariables) {
  ::setenv("S3_ENDPOINT", "minio.kubeflow:9000", 1);
  ::setenv("S3_USE_HTTPS", "0", 1);
  ::setenv("S3_VERIFY_SSL", "false", 1);
  auto s = resolve_s3_settings({});
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->endpoint, "http://minio.kubeflow:9000");
  EXPECT_EQ(s->endpoint_source, "S3_ENDPOINT");
  EXPECT_EQ(s->verify_tls, std::optional<bool>(false));
  EXPECT_EQ(s3_url(*s, "models", "x"), "http://minio.kubeflow:9000/models/x") << "custom endpoints use path style";
  ::setenv("S3_USE_HTTPS", "1", 1);
  EXPECT_EQ(resolve_s3_settings({})->endpoint, "https://minio.kubeflow:9000");
  // An explicit scheme wins over S3_USE_HTTPS.
  ::setenv("S3_ENDPOINT", "http://minio:9000", 1);
  EXPECT_EQ(resolve_s3_settings({})->endpoint, "http://minio:9000");
  ::setenv("S3_USER_VIRTUAL_BUCKET", "true", 1);
  EXPECT_EQ(s3_url(*resolve_s3_settings({}), "models", "x"), "http://models.minio:9000/x");
}

TEST_F(StoreS3Settings, FlagsOutrankEnvironment) {
  ::setenv("AWS_ENDPOINT_URL", "http://env:1", 1);
  ::setenv("S3_ENDPOINT", "http://kserve:2", 1);
  S3Options options;
  auto from_env = resolve_s3_settings(options);
  EXPECT_EQ(from_env->endpoint, "http://env:1");
  EXPECT_EQ(from_env->endpoint_source, "AWS_ENDPOINT_URL");
  options.endpoint_url = "http://flag:3/base/";
  options.addressing = "virtual";
  options.region = "ap-south-1";
  auto s = resolve_s3_settings(options);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->endpoint, "http://flag:3/base");
  EXPECT_EQ(s->region, "ap-south-1");
  EXPECT_EQ(s3_url(*s, "b", "k", "uploads="), "http://b.flag:3/base/k?uploads=");
}

TEST_F(StoreS3Settings, MissingCaBundleIsAnError) {
  ::setenv("AWS_CA_BUNDLE", "/nonexistent/ca.pem", 1);
  auto s = resolve_s3_settings({});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("AWS_CA_BUNDLE"), std::string::npos);
}

TEST_F(StoreS3Settings, ProfileRegionAndAddressing) {
  testing::TempDir dir;
  testing::write_text(dir / "config", "[profile lab]\nregion = us-west-2\ns3 =\n  addressing_style = path\n");
  ::setenv("AWS_CONFIG_FILE", (dir / "config").c_str(), 1);
  S3Options options;
  options.profile = "lab";
  auto s = resolve_s3_settings(options);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->region, "us-west-2");
  EXPECT_EQ(s3_url(*s, "models", "k"), "https://s3.us-west-2.amazonaws.com/models/k");
}

TEST_F(StoreS3Settings, BadInput) {
  S3Options options;
  options.addressing = "sideways";
  EXPECT_FALSE(resolve_s3_settings(options).ok());
  options.addressing.clear();
  options.endpoint_url = "ftp://x";
  EXPECT_FALSE(resolve_s3_settings(options).ok());
  EXPECT_FALSE(validate_bucket_name("").ok());
  EXPECT_FALSE(validate_bucket_name("a/b").ok());
  EXPECT_TRUE(validate_bucket_name("my-bucket.v2").ok());
}

}  // namespace
}  // namespace airlock::store
