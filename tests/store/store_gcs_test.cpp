// The conformance suite on GCS (tests/servers/gcs_server.py, which checks the RS256 JWTs of
// service-account keys made here with openssl), and what is particular to GCS: authorized_user
// refresh tokens, the metadata server, anonymous reads and STORAGE_EMULATOR_HOST, resumable
// uploads that survive resets and 503s by asking the session how far it got, token refresh, and
// HMAC interoperability through the S3 code against s3rver.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <thread>

#include "cloud_store_servers.h"
#include "core/hash.h"
#include "store/gcs_credentials.h"
#include "store/gcs_store.h"
#include "store/store_factory.h"
#include "store_conformance.h"
#include "store_servers.h"
#include "sync/pull.h"
#include "sync/push.h"
#include "testing.h"

namespace airlock::testing {
namespace {
namespace fs = std::filesystem;

constexpr const char* kBucket = "airlock-models";
constexpr const char* kEmail = "airlock-push@airlock-test.iam.gserviceaccount.com";

class GcsBackend final : public ConformanceBackend {
 public:
  GcsBackend() {
    isolate_cloud_environment();
    auto key = make_rsa_key(dir_.path(), "good");
    auto other = make_rsa_key(dir_.path(), "other");
    if (!key || !other) return;
    started_ = server_.start({"--bucket", kBucket, "--bucket", "public-models", "--public-bucket", "public-models",
                              "--service-account", std::string(kEmail) + "=" + key->modulus_hex, "--metadata",
                              "--refresh-token", "client-1.apps:client-secret-1:1//refresh-token-1"});
    if (!started_) return;
    const std::string token_uri = server_.url() + "/token";
    key_file_ = write_service_account_key(dir_.path(), kEmail, *key, token_uri);
    // The same account with a key the server never registered (a rotated or foreign key).
    // Written into its own folder of this test's directory: the helper names the file after the
    // account, and other test processes running at the same time must never see it.
    fs::create_directories(dir_.path() / "wrong");
    wrong_key_file_ = write_service_account_key(dir_.path() / "wrong", kEmail, *other, token_uri);
  }
  std::string name() const override { return "gcs"; }
  std::unique_ptr<store::Store> open(const std::string& prefix) override { return make(prefix, key_file_); }
  std::unique_ptr<store::Store> open_with_wrong_credentials(const std::string& prefix) override {
    return make(prefix, wrong_key_file_);
  }
  std::string credentials_hint() const override { return "GOOGLE_APPLICATION_CREDENTIALS"; }

  std::unique_ptr<store::Store> make(const std::string& prefix, const fs::path& key_file,
                                     const std::string& endpoint = "") {
    if (!started_) return nullptr;
    ::setenv("GOOGLE_APPLICATION_CREDENTIALS", key_file.c_str(), 1);
    store::StoreConfig config;
    config.s3.endpoint_url = endpoint.empty() ? server_.url() : endpoint;
    auto opened = store::open_store(fmt::format("gs://{}/{}", kBucket, prefix), config);
    ::unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    if (!opened.ok()) {
      ADD_FAILURE() << opened.error().message();
      return nullptr;
    }
    return std::move(opened).value();
  }
  GcsServer& server() { return server_; }
  bool started() const { return started_; }
  const fs::path& key_file() const { return key_file_; }

 private:
  TempDir dir_;
  GcsServer server_;
  fs::path key_file_;
  fs::path wrong_key_file_;
  bool started_ = false;
};

GcsBackend& gcs_backend() {
  static GcsBackend backend;
  return backend;
}

ConformanceBackend& gcs_conformance() {
  GcsBackend& backend = gcs_backend();
  if (!backend.started()) ADD_FAILURE() << "the GCS test server did not start: " << backend.server().last_output();
  return backend;
}

INSTANTIATE_TEST_SUITE_P(Gcs, StoreConformance, ::testing::Values(BackendMaker{"gcs", gcs_conformance}),
                         [](const auto& param_info) { return param_info.param.name; });

std::string read_all(store::Store& s, const std::string& key) {
  auto text = s.read_to_string(key, 1ull << 30);
  if (!text.ok()) {
    ADD_FAILURE() << key << ": " << text.error().message();
    return "";
  }
  return *text;
}

TEST(GcsStore, ServiceAccountTokenIsFetchedOnceAndReused) {
  auto& backend = gcs_backend();
  ASSERT_TRUE(backend.started());
  const int before = backend.server().stats()["jwt_grants"].get<int>();
  auto s = backend.make("reuse/", backend.key_file());
  ASSERT_TRUE(s);
  for (int i = 0; i < 5; ++i) ASSERT_OK(s->write_string("f" + std::to_string(i), "x"));
  EXPECT_EQ(backend.server().stats()["jwt_grants"].get<int>() - before, 1) << "one token for many requests";
  auto info = s->stat("f3");
  ASSERT_TRUE(info.ok() && info->has_value());
  EXPECT_EQ((*info)->size, 1u);
}

TEST(GcsStore, AuthorizedUserRefreshTokenAndMetadataServer) {
  auto& backend = gcs_backend();
  ASSERT_TRUE(backend.started());
  TempDir tmp;
  // `gcloud auth application-default login` writes this file into the gcloud config directory.
  fs::create_directories(tmp / "gcloud");
  write_text(tmp / "gcloud" / "application_default_credentials.json",
             dump_json(Json{{"type", "authorized_user"},
                            {"client_id", "client-1.apps"},
                            {"client_secret", "client-secret-1"},
                            {"refresh_token", "1//refresh-token-1"},
                            {"token_uri", backend.server().url() + "/token"}}));
  ::setenv("CLOUDSDK_CONFIG", (tmp / "gcloud").c_str(), 1);
  store::StoreConfig config;
  config.s3.endpoint_url = backend.server().url();
  auto user = store::open_store(std::string("gs://") + kBucket + "/user/", config);
  isolate_cloud_environment();
  ASSERT_TRUE(user.ok()) << user.error().message();
  ASSERT_OK((*user)->write_string("a.txt", "from a user"));
  EXPECT_GE(backend.server().stats()["refresh_grants"].get<int>(), 1);

  // On GKE: the metadata server (GCE_METADATA_HOST names it), with Metadata-Flavor: Google.
  ::setenv("GCE_METADATA_HOST", ("127.0.0.1:" + std::to_string(backend.server().port())).c_str(), 1);
  auto workload = store::open_store(std::string("gs://") + kBucket + "/user/", config);
  isolate_cloud_environment();
  ASSERT_TRUE(workload.ok()) << workload.error().message();
  EXPECT_EQ(read_all(**workload, "a.txt"), "from a user");
  EXPECT_GE(backend.server().stats()["metadata_tokens"].get<int>(), 1);
}

TEST(GcsStore, AnonymousReadsEmulatorHostAndARefusalThatSaysWhatToSet) {
  auto& backend = gcs_backend();
  ASSERT_TRUE(backend.started());
  auto writer = backend.make("", backend.key_file());
  ASSERT_TRUE(writer);
  // Public bucket: reads need no credentials (KServe falls back to anonymous the same way).
  ::setenv("GOOGLE_APPLICATION_CREDENTIALS", backend.key_file().c_str(), 1);
  store::StoreConfig config;
  config.s3.endpoint_url = backend.server().url();
  auto public_writer = store::open_store("gs://public-models/m/", config);
  ::unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
  ASSERT_TRUE(public_writer.ok());
  ASSERT_OK((*public_writer)->write_string("config.json", "{}"));
  // STORAGE_EMULATOR_HOST, without a scheme, as Google's libraries take it; no credentials.
  ::setenv("STORAGE_EMULATOR_HOST", ("127.0.0.1:" + std::to_string(backend.server().port())).c_str(), 1);
  auto anonymous = store::open_store("gs://public-models/m/", {});
  auto private_bucket = store::open_store(std::string("gs://") + kBucket + "/x/", {});
  isolate_cloud_environment();
  ASSERT_TRUE(anonymous.ok()) << anonymous.error().message();
  EXPECT_EQ(read_all(**anonymous, "config.json"), "{}");
  ASSERT_TRUE(private_bucket.ok());
  Status refused = (*private_bucket)->write_string("y", "z");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnauthenticated) << refused.error().message();
  EXPECT_NE(refused.error().message().find("GOOGLE_APPLICATION_CREDENTIALS"), std::string::npos)
      << refused.error().message();
}

TEST(GcsStore, WrongKeyNamesTheVariableAndNeverShowsTheKey) {
  auto& backend = gcs_backend();
  ASSERT_TRUE(backend.started());
  auto wrong = backend.open_with_wrong_credentials("wrong/");
  ASSERT_TRUE(wrong);
  Status written = wrong->write_string("x", "y");
  ASSERT_FALSE(written.ok());
  const std::string& message = written.error().message();
  EXPECT_NE(message.find("Invalid JWT Signature"), std::string::npos) << message;
  EXPECT_NE(message.find(kEmail), std::string::npos) << message;
  EXPECT_EQ(message.find("PRIVATE KEY"), std::string::npos) << message;
  // A file that is not a key at all fails before any request.
  TempDir tmp;
  write_text(tmp / "bad.json", "{\"type\": \"service_account\", \"client_email\": \"a@b\", \"private_key\": \"x\"}");
  ::setenv("GOOGLE_APPLICATION_CREDENTIALS", (tmp / "bad.json").c_str(), 1);
  store::StoreConfig config;
  config.s3.endpoint_url = backend.server().url();
  auto opened = store::open_store(std::string("gs://") + kBucket + "/x", config);
  ::unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().message().find("GOOGLE_APPLICATION_CREDENTIALS"), std::string::npos)
      << opened.error().message();
}

TEST(GcsStore, ResumableUploadSurvivesResetsAndServerErrors) {
  auto& backend = gcs_backend();
  ASSERT_TRUE(backend.started());
  FaultProxy proxy;
  ASSERT_TRUE(proxy.start(backend.server().url()));
  auto s = backend.make("resume/", backend.key_file(), proxy.url());
  ASSERT_TRUE(s);
  const std::string data = pattern_bytes(3 * 1024 * 1024 + 100, 17);
  // PUTs to the session (chunks and status queries): the first chunk passes, the next PUT is
  // reset (curl may resend it once by itself: a reset before any answer byte looks like a
  // stale keep-alive connection), and one is answered 503, after which the session is asked
  // how far it got.
  ASSERT_TRUE(
      proxy.add_rule({{"fault", "delay"}, {"method", "PUT"}, {"path", "upload_id="}, {"seconds", 0}, {"times", 1}}));
  ASSERT_TRUE(proxy.add_rule({{"fault", "reset"}, {"method", "PUT"}, {"path", "upload_id="}, {"times", 1}}));
  ASSERT_TRUE(
      proxy.add_rule({{"fault", "status"}, {"status", 503}, {"method", "PUT"}, {"path", "upload_id="}, {"times", 1}}));
  const int queries_before = backend.server().stats()["status_queries"].get<int>();
  store::WriteOptions options;
  options.multipart_threshold = 1024 * 1024;
  options.part_size = 1024 * 1024;
  options.sha256 = sha256_hex(data);
  Status written = s->write("weights.bin", store::string_source(data), options);
  ASSERT_TRUE(written.ok()) << written.error().message();
  EXPECT_GE(backend.server().stats()["status_queries"].get<int>() - queries_before, 1)
      << "after a failure the session is asked how far it got";
  Json injected = proxy.stats()["injected"];
  EXPECT_EQ(injected["reset"], 1);
  EXPECT_EQ(injected["status"], 1);
  EXPECT_TRUE(read_all(*s, "weights.bin") == data);
  auto info = s->stat("weights.bin");
  ASSERT_TRUE(info.ok() && info->has_value());
  EXPECT_EQ((*info)->sha256, sha256_hex(data)) << "the sha256 travels as custom metadata";
  // A chunk size that is not a multiple of 256 KiB is rounded up, as the API requires.
  EXPECT_EQ(store::gcs_chunk_size(5 * 1000 * 1000), 20u * 256 * 1024);
  EXPECT_EQ(store::gcs_chunk_size(0), 16u * 1024 * 1024);
}

TEST(GcsStore, TransfersThroughFaultsEndToEnd) {
  auto& backend = gcs_backend();
  ASSERT_TRUE(backend.started());
  FaultProxy proxy;
  ASSERT_TRUE(proxy.start(backend.server().url()));
  auto s = backend.make("faults/", backend.key_file(), proxy.url());
  ASSERT_TRUE(s);
  TempDir tmp;
  fs::create_directories(tmp / "tree");
  const std::string big = pattern_bytes(3 * 1024 * 1024, 5);
  write_text(tmp / "tree" / "big.bin", big);
  write_text(tmp / "tree" / "a.txt", "a");
  ASSERT_TRUE(proxy.add_rule({{"fault", "reset"}, {"method", "POST"}, {"path", "uploadType=multipart"}, {"times", 1}}));
  ASSERT_TRUE(proxy.add_rule(
      {{"fault", "status"}, {"status", 429}, {"retry_after", "1"}, {"method", "GET"}, {"path", "/o?"}, {"times", 1}}));
  sync::PushOptions push;
  push.progress.style = ProgressStyle::kQuiet;
  auto pushed = sync::push(tmp / "tree", *s, push);
  ASSERT_TRUE(pushed.ok()) << pushed.error().message();
  ASSERT_TRUE(proxy.add_rule({{"fault", "truncate"}, {"method", "GET"}, {"path", "big.bin"}, {"times", 2}}));
  ASSERT_TRUE(proxy.add_rule({{"fault", "flip"}, {"method", "GET"}, {"path", "a.txt"}, {"times", 1}}));
  sync::PullOptions pull;
  pull.progress.style = ProgressStyle::kQuiet;
  pull.part_size = 1024 * 1024;
  auto pulled = sync::pull(*s, tmp / "back", pull);
  ASSERT_TRUE(pulled.ok()) << pulled.error().message();
  EXPECT_TRUE(pulled->verified);
  EXPECT_EQ(pulled->refetched_corrupt, 1u) << "the flipped byte was caught and fetched again";
  EXPECT_TRUE(read_text(tmp / "back" / "big.bin") == big);
  Json injected = proxy.stats()["injected"];
  EXPECT_EQ(injected["reset"], 1);
  EXPECT_EQ(injected["truncate"], 2);
}

TEST(GcsStore, TokensAreRefreshedBeforeTheyExpire) {
  isolate_cloud_environment();
  TempDir tmp;
  auto key = make_rsa_key(tmp.path(), "short");
  ASSERT_TRUE(key);
  GcsServer server;
  ASSERT_TRUE(server.start({"--bucket", kBucket, "--service-account", std::string(kEmail) + "=" + key->modulus_hex,
                            "--token-lifetime", "2"}))
      << server.last_output();
  const fs::path key_file = write_service_account_key(tmp.path(), kEmail, *key, server.url() + "/token");
  ::setenv("GOOGLE_APPLICATION_CREDENTIALS", key_file.c_str(), 1);
  store::StoreConfig config;
  config.s3.endpoint_url = server.url();
  auto s = store::open_store(std::string("gs://") + kBucket + "/short/", config);
  ::unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_OK((*s)->write_string("a", "1"));
  // Half the lifetime later the token is renewed before use, so nothing is refused.
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  ASSERT_OK((*s)->write_string("b", "2"));
  Json stats = server.stats();
  EXPECT_EQ(stats["jwt_grants"], 2) << dump_json(stats);
  EXPECT_EQ(stats["unauthenticated"], 0);
}

TEST(GcsStore, HmacKeysGoThroughTheXmlApi) {
  isolate_cloud_environment();
  isolate_aws_environment();
  S3rver server;
  ASSERT_TRUE(server.start({"hmac-bucket"})) << server.last_output();
  // s3rver takes any secret for the access id S3RVER: the signature is judged by the SigV4
  // vectors elsewhere; here the path through the S3 code and the gs:// naming are checked.
  ::setenv("GCS_HMAC_ACCESS_ID", "S3RVER", 1);
  ::setenv("GCS_HMAC_SECRET", "bGNzLWhtYWMtc2VjcmV0LWZvci10ZXN0cw==", 1);
  store::StoreConfig config;
  config.s3.endpoint_url = server.endpoint();
  auto s = store::open_store("gs://hmac-bucket/models/m", config);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ((*s)->display_uri(), "gs://hmac-bucket/models/m/");
  TempDir tmp;
  fs::create_directories(tmp / "tree");
  write_text(tmp / "tree" / "w.bin", pattern_bytes(100000, 3));
  sync::PushOptions push;
  push.progress.style = ProgressStyle::kQuiet;
  ASSERT_TRUE(sync::push(tmp / "tree", **s, push).ok());
  EXPECT_TRUE(fs::exists(server.object_file("hmac-bucket", "models/m/w.bin")));
  // An access id the server does not know: the error names the GCS variables, not the AWS ones.
  ::setenv("GCS_HMAC_ACCESS_ID", "GOOGWRONGWRONGWRONGWRONG", 1);
  auto wrong = store::open_store("gs://hmac-bucket/models/m", config);
  isolate_cloud_environment();
  ASSERT_TRUE(wrong.ok());
  auto listed = (*wrong)->list_all("");
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().code(), ErrorCode::kUnauthenticated) << listed.error().message();
  EXPECT_NE(listed.error().message().find("GCS_HMAC_ACCESS_ID"), std::string::npos) << listed.error().message();
  EXPECT_EQ(listed.error().message().find("AWS_ACCESS_KEY_ID"), std::string::npos) << listed.error().message();
  EXPECT_NE(listed.error().message().find("gs://hmac-bucket"), std::string::npos) << listed.error().message();
}

}  // namespace
}  // namespace airlock::testing

namespace airlock::testing {
namespace {

// gs:// as a person runs it: push, ls, verify and pull with the key file in
// GOOGLE_APPLICATION_CREDENTIALS and the server given with --endpoint-url.
TEST(GcsCli, PushLsVerifyPull) {
  auto& backend = gcs_backend();
  ASSERT_TRUE(backend.started());
  TempDir tmp;
  fs::create_directories(tmp / "cache" / "blobs");
  fs::create_directories(tmp / "cache" / "snapshots" / "r");
  write_text(tmp / "cache" / "blobs" / "w", pattern_bytes(700 * 1024, 6));
  fs::create_symlink("../../blobs/w", tmp / "cache" / "snapshots" / "r" / "model.safetensors");
  std::map<std::string, std::string> env = {{"GOOGLE_APPLICATION_CREDENTIALS", backend.key_file().string()},
                                            {"NO_GCE_CHECK", "true"},
                                            {"STORAGE_EMULATOR_HOST", "\x01unset"},
                                            {"AIRLOCK_LOG_LEVEL", "warn"}};
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), airlock_binary().string());
    args.insert(args.end(), {"--endpoint-url", backend.server().url()});
    return run_command(args, env);
  };
  const std::string uri = std::string("gs://") + kBucket + "/cli/llama";
  auto pushed = run({"push", (tmp / "cache").string(), uri});
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  auto listed = run({"ls", uri, "-r"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("blobs/w"), std::string::npos) << listed.out;
  auto verified = run({"verify", uri});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  auto pulled = run({"pull", uri, (tmp / "back").string()});
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  EXPECT_EQ(fs::read_symlink(tmp / "back" / "snapshots" / "r" / "model.safetensors").string(), "../../blobs/w");
  EXPECT_TRUE(read_text(tmp / "back" / "blobs" / "w") == pattern_bytes(700 * 1024, 6));
  // No credentials at all against a private bucket: exit 3 and what to set.
  env["GOOGLE_APPLICATION_CREDENTIALS"] = "\x01unset";
  auto refused = run({"pull", uri, (tmp / "none").string()});
  EXPECT_EQ(refused.exit_code, 3) << refused.err;
  EXPECT_NE(refused.err.find("GOOGLE_APPLICATION_CREDENTIALS"), std::string::npos) << refused.err;
}

}  // namespace
}  // namespace airlock::testing

namespace airlock::testing {
namespace {

std::uint64_t counter(const Json& stats, const char* name) {
  return stats.contains(name) && stats[name].is_number() ? stats[name].get<std::uint64_t>() : 0;
}

// A push killed (kill -9) in the middle of a large resumable upload and run again continues the
// same session: its URI was kept on disk (0600 in a 0700 folder, never printed), the rerun asks
// the session how far it got (bytes */SIZE -> 308 + Range) and sends only the rest.
TEST(GcsCli, KilledPushContinuesItsResumableSession) {
  auto& backend = gcs_backend();
  ASSERT_TRUE(backend.started());
  FaultProxy proxy;  // slows the chunks down so that the kill lands mid-upload
  ASSERT_TRUE(proxy.start(backend.server().url()));
  TempDir tmp;
  const std::size_t size = 8 * 1024 * 1024 + 123;
  fs::create_directories(tmp / "cache");
  write_text(tmp / "cache" / "weights.bin", pattern_bytes(size, 17));
  write_text(tmp / "cache" / "config.json", "{}");
  const fs::path state = tmp / "state";
  const std::map<std::string, std::string> env = {{"GOOGLE_APPLICATION_CREDENTIALS", backend.key_file().string()},
                                                  {"NO_GCE_CHECK", "true"},
                                                  {"STORAGE_EMULATOR_HOST", "\x01unset"},
                                                  {"AIRLOCK_STATE_DIR", state.string()},
                                                  {"AIRLOCK_LOG_LEVEL", "debug"}};
  const std::string uri = std::string("gs://") + kBucket + "/killed/resumable";
  const std::vector<std::string> push = {airlock_binary().string(),
                                         "push",
                                         (tmp / "cache").string(),
                                         uri,
                                         "--endpoint-url",
                                         proxy.url(),
                                         "--part-size",
                                         "1MiB",
                                         "--multipart-threshold",
                                         "1MiB"};
  ASSERT_TRUE(
      proxy.add_rule({{"fault", "delay"}, {"method", "PUT"}, {"path", "upload_id="}, {"seconds", 0.3}, {"times", -1}}));
  const std::uint64_t at_start = counter(backend.server().stats(), "resumable_bytes");
  pid_t pid = spawn_background(push, tmp / "push.log", env);
  ASSERT_TRUE(wait_until([&] {
    return counter(backend.server().stats(), "resumable_bytes") - at_start >= 3 * 1024 * 1024;
  })) << read_text(tmp / "push.log");
  ::kill(pid, SIGKILL);
  EXPECT_EQ(wait_for(pid), 128 + SIGKILL);

  // The session was kept, privately.
  const fs::path records = state / "gcs-uploads";
  std::vector<fs::path> kept;
  for (const auto& entry : fs::directory_iterator(records)) kept.push_back(entry.path());
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(fs::status(records).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(fs::status(kept[0]).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  auto record = parse_json(read_text(kept[0]), "session record");
  ASSERT_TRUE(record.ok());
  const std::string session = (*record)["session"].get<std::string>();
  const std::string upload_id = session.substr(session.find("upload_id=") + 10);
  ASSERT_FALSE(upload_id.empty());
  EXPECT_EQ(read_text(tmp / "push.log").find(upload_id), std::string::npos) << "the session URI is never printed";

  proxy.clear_rules();
  const Json before = backend.server().stats();
  auto rerun = run_command(
      [&] {
        auto args = push;
        args.push_back("--json");
        return args;
      }(),
      env);
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  const Json after = backend.server().stats();
  const std::uint64_t sent = counter(after, "resumable_bytes") - counter(before, "resumable_bytes");
  EXPECT_LT(sent, size) << "the rerun continued the session instead of sending the whole file";
  EXPECT_LE(sent, size - 3 * 1024 * 1024) << "what the server had kept was not sent again";
  EXPECT_EQ(counter(after, "resumable_sessions"), counter(before, "resumable_sessions")) << "no new session";
  EXPECT_GE(counter(after, "status_queries") - counter(before, "status_queries"), 1u);
  EXPECT_EQ(rerun.err.find(upload_id), std::string::npos) << "the session URI is never printed";
  EXPECT_NE(rerun.err.find("continuing at byte"), std::string::npos) << rerun.err;
  EXPECT_TRUE(fs::is_empty(records)) << "the record goes when the upload is done";

  // What landed is the file, byte for byte.
  auto s = backend.make("killed/resumable", backend.key_file());
  ASSERT_TRUE(s);
  auto back = s->read_to_string("weights.bin", 1ull << 30);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_TRUE(*back == pattern_bytes(size, 17));

  // A kept session the server no longer knows (404): a fresh upload, and the push still succeeds.
  write_text(tmp / "cache" / "weights.bin", pattern_bytes(size, 18));
  ASSERT_TRUE(
      proxy.add_rule({{"fault", "delay"}, {"method", "PUT"}, {"path", "upload_id="}, {"seconds", 0.3}, {"times", -1}}));
  const std::uint64_t second_start = counter(backend.server().stats(), "resumable_bytes");
  pid = spawn_background(push, tmp / "push2.log", env);
  ASSERT_TRUE(wait_until([&] {
    return counter(backend.server().stats(), "resumable_bytes") - second_start >= 2 * 1024 * 1024;
  })) << read_text(tmp / "push2.log");
  ::kill(pid, SIGKILL);
  wait_for(pid);
  proxy.clear_rules();
  kept.clear();
  for (const auto& entry : fs::directory_iterator(records)) kept.push_back(entry.path());
  ASSERT_EQ(kept.size(), 1u);
  auto stale = parse_json(read_text(kept[0]), "session record");
  ASSERT_TRUE(stale.ok());
  std::string gone = (*stale)["session"].get<std::string>();
  gone.replace(gone.find("upload_id=") + 10, std::string::npos, "expired-session");
  (*stale)["session"] = gone;
  write_text(kept[0], dump_json(*stale));
  const Json before_fresh = backend.server().stats();
  auto fresh = run_command(push, env);
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
  const Json after_fresh = backend.server().stats();
  EXPECT_EQ(counter(after_fresh, "resumable_sessions"), counter(before_fresh, "resumable_sessions") + 1);
  EXPECT_GE(counter(after_fresh, "resumable_bytes") - counter(before_fresh, "resumable_bytes"), size);
  auto replaced = s->read_to_string("weights.bin", 1ull << 30);
  ASSERT_TRUE(replaced.ok()) << replaced.error().message();
  EXPECT_TRUE(*replaced == pattern_bytes(size, 18));
  EXPECT_TRUE(fs::is_empty(records));
}

}  // namespace
}  // namespace airlock::testing
