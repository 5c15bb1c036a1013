#include "server/serve_options.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace airlock::server {
namespace {

// Sets (or unsets, with nullptr) the variables for one test and restores them afterwards.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> values) {
    for (const char* name : kNames) {
      const char* old = std::getenv(name);
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      ::unsetenv(name);
    }
    for (const auto& [name, value] : values) {
      if (value) ::setenv(name, value, 1);
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
  static constexpr const char* kNames[] = {"NIM_CACHE_PATH", "AIRLOCK_CACHE", "NIM_MODEL_PROFILE", "NIM_SERVED_MODEL_NAME",
                                           "NIM_HTTP_API_PORT", "NIM_SERVER_PORT", "AIRLOCK_MODEL_PROFILES_PATH",
                                           "AIRLOCK_API_KEYS", "AIRLOCK_PRECISION"};
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST(ServeOptions, EnvironmentFillsWhatFlagsLeaveOut) {
  ScopedEnv env({{"NIM_CACHE_PATH", "/opt/nim/.cache"}, {"NIM_MODEL_PROFILE", "abc"}, {"NIM_SERVED_MODEL_NAME", "e5"},
                 {"NIM_HTTP_API_PORT", "8123"}, {"AIRLOCK_MODEL_PROFILES_PATH", "s3://b/p"}, {"AIRLOCK_API_KEYS", "k1, k2\nk3"}});
  auto o = resolve_serve_options({});
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->cache_dir, "/opt/nim/.cache");
  EXPECT_EQ(o->profile, "abc");
  EXPECT_EQ(o->served_model_name, "e5");
  EXPECT_EQ(o->port, 8123);
  EXPECT_EQ(o->model_profiles_path, "s3://b/p");
  EXPECT_EQ(o->api_keys, (std::vector<std::string>{"k1", "k2", "k3"}));
  EXPECT_EQ(o->host, "0.0.0.0");
}

TEST(ServeOptions, FlagsWinOverTheEnvironment) {
  ScopedEnv env({{"NIM_CACHE_PATH", "/env"}, {"NIM_MODEL_PROFILE", "env"}, {"NIM_HTTP_API_PORT", "9"}});
  ServeFlags flags;
  flags.cache_dir = "/flag";
  flags.profile = "flag";
  flags.port = 8001;
  auto o = resolve_serve_options(flags);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->cache_dir, "/flag");
  EXPECT_EQ(o->profile, "flag");
  EXPECT_EQ(o->port, 8001);
}

TEST(ServeOptions, DefaultsMatchNim) {
  ScopedEnv env({});
  auto o = resolve_serve_options({});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->port, 8000);
  EXPECT_TRUE(o->api_keys.empty());
  EXPECT_TRUE(o->model_profiles_path.empty());
}

TEST(ServeOptions, RefusesBadValuesWithTheirName) {
  {
    ScopedEnv env({{"NIM_HTTP_API_PORT", "http"}});
    auto o = resolve_serve_options({});
    ASSERT_FALSE(o.ok());
    EXPECT_NE(o.error().message().find("NIM_HTTP_API_PORT"), std::string::npos);
  }
  ScopedEnv env({});
  ServeFlags tls;
  tls.tls_cert = "cert.pem";
  EXPECT_FALSE(resolve_serve_options(tls).ok());
  ServeFlags metrics;
  metrics.metrics_require_key = true;
  EXPECT_FALSE(resolve_serve_options(metrics).ok());
  ServeFlags tokens;
  tokens.max_batch_tokens = 4;
  EXPECT_FALSE(resolve_serve_options(tokens).ok());
  ServeFlags payload;
  payload.payload_limit = "12 furlongs";
  EXPECT_FALSE(resolve_serve_options(payload).ok());
  ServeFlags keys;
  keys.api_key_file = "/nonexistent/keys";
  EXPECT_FALSE(resolve_serve_options(keys).ok());
}

// --precision (or AIRLOCK_PRECISION) overrides the profile's precision tag; the flag wins.
TEST(ServeOptions, PrecisionFromFlagOrEnvironment) {
  {
    ScopedEnv env({});
    auto o = resolve_serve_options({});
    ASSERT_TRUE(o.ok());
    EXPECT_FALSE(o->precision);  // the profile decides
  }
  ScopedEnv env({{"AIRLOCK_PRECISION", "INT8"}});
  auto from_env = resolve_serve_options({});
  ASSERT_TRUE(from_env.ok()) << from_env.error().message();
  EXPECT_EQ(from_env->precision, engine::Precision::kInt8);
  ServeFlags flags;
  flags.precision = "bf16";
  auto from_flag = resolve_serve_options(flags);
  ASSERT_TRUE(from_flag.ok());
  EXPECT_EQ(from_flag->precision, engine::Precision::kBFloat16);
  flags.precision = "fp8";
  auto bad = resolve_serve_options(flags);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "--precision must be fp32, bf16, fp16 or int8 (got \"fp8\")");
  ScopedEnv bad_env({{"AIRLOCK_PRECISION", "half"}});
  auto bad_from_env = resolve_serve_options({});
  ASSERT_FALSE(bad_from_env.ok());
  EXPECT_NE(bad_from_env.error().message().find("AIRLOCK_PRECISION must be"), std::string::npos);
}

TEST(ServeOptions, KeyFileSkipsCommentsAndBlankLines) {
  auto path = std::filesystem::temp_directory_path() / ("airlock-keys-" + std::to_string(::getpid()));
  {
    std::ofstream out(path);
    out << "# rotation: new key first\n  new-key  \n\nold-key\n";
  }
  auto keys = read_api_key_file(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, (std::vector<std::string>{"new-key", "old-key"}));
}

}  // namespace
}  // namespace airlock::server
