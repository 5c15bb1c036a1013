// `airlock push / pull / ls / verify / rm` against s3rver, as a person runs them: JSON summaries,
// exit codes, an unchanged tree pushing nothing, kill -9 in the middle of a push and of a pull
// and the rerun finishing the job (and aborting the multipart uploads the killed push left), faults injected by the fault proxy (resets, 500, 503
// SlowDown with Retry-After, truncated bodies, flipped bytes), a corrupt stored object, and a
// server that lists hostile keys.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>

#include "sync_cli.h"

namespace airlock::testing {
namespace {
namespace fs = std::filesystem;

constexpr const char* kBucket = "models";

class SyncS3 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    isolate_aws_environment();
    server_ = new S3rver();
    ASSERT_TRUE(server_->start({kBucket})) << server_->last_output();
    proxy_ = new FaultProxy();
    // The proxy also answers ListMultipartUploads / AbortMultipartUpload, which s3rver lacks, one
    // upload per page so that the cleanup's paging is exercised.
    ASSERT_TRUE(proxy_->start(server_->endpoint(), {"--emulate-upload-listing", "--uploads-page-size", "1"}));
  }
  static void TearDownTestSuite() {
    delete proxy_;
    delete server_;
  }
  void SetUp() override { proxy_->reset(); }

  std::string uri(const std::string& prefix) const { return std::string("s3://") + kBucket + "/" + prefix; }
  static std::vector<std::string> direct() { return {"--endpoint-url", server_->endpoint()}; }
  static std::vector<std::string> proxied() { return {"--endpoint-url", proxy_->url()}; }
  static CommandResult run(std::vector<std::string> args, const std::vector<std::string>& endpoint) {
    args.insert(args.end(), endpoint.begin(), endpoint.end());
    return airlock(args);
  }

  static S3rver* server_;
  static FaultProxy* proxy_;
  TempDir tmp_;
};

S3rver* SyncS3::server_ = nullptr;
FaultProxy* SyncS3::proxy_ = nullptr;

TEST_F(SyncS3, PushLsPullVerifyRmRoundTrip) {
  make_cache(tmp_ / "cache", 3 * 1024 * 1024 + 11);
  auto pushed = run({"push", (tmp_ / "cache").string(), uri("cache/m1"), "--json"}, direct());
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  Json push = json_of(pushed);
  EXPECT_EQ(push["files"], 5);
  EXPECT_EQ(push["symlinks"], 5);
  EXPECT_EQ(push["uploaded_files"], 5);
  EXPECT_EQ(push["index_written"], true);

  auto listed = run({"ls", uri("cache/m1"), "-r", "--json"}, direct());
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  Json ls = json_of(listed);
  EXPECT_EQ(ls["index"]["files"], 5);
  EXPECT_EQ(ls["index"]["symlinks"], 5);
  EXPECT_EQ(ls["objects"].size(), 6u) << "5 files and the index; symlinks are not objects";
  EXPECT_EQ(ls["symlinks"].size(), 5u);
  auto top = run({"ls", uri("cache/m1")}, direct());
  ASSERT_EQ(top.exit_code, 0) << top.err;
  EXPECT_NE(top.out.find("DIR  huggingface/"), std::string::npos) << top.out;

  auto pulled = run({"pull", uri("cache/m1"), (tmp_ / "dst").string(), "--json"}, direct());
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  Json pull = json_of(pulled);
  EXPECT_EQ(pull["verified"], true);
  EXPECT_EQ(pull["fetched_files"], 5);
  const fs::path repo = "huggingface/hub/models--org--model";
  EXPECT_EQ(sha_of_file(tmp_ / "dst" / repo / "snapshots/abc123/model.safetensors"),
            sha_of_file(tmp_ / "cache" / repo / "blobs/big"));
  EXPECT_EQ(fs::read_symlink(tmp_ / "dst" / repo / "snapshots/abc123/1_Pooling/config.json").string(),
            "../../../blobs/small0");
  EXPECT_EQ(read_text(tmp_ / "dst" / repo / "refs/main"), "abc123");

  auto verified = run({"verify", uri("cache/m1"), "--against", (tmp_ / "dst").string()}, direct());
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  auto store_verified = run({"verify", uri("cache/m1"), "--json"}, direct());
  EXPECT_EQ(store_verified.exit_code, 0) << store_verified.out << store_verified.err;
  EXPECT_EQ(json_of(store_verified)["ok"], true);

  // Unchanged: nothing goes up, the index stays.
  auto again = run({"push", (tmp_ / "cache").string(), uri("cache/m1"), "--json"}, direct());
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(json_of(again)["uploaded_files"], 0);
  EXPECT_EQ(json_of(again)["index_written"], false);

  // A local copy that drifted is reported by verify --against.
  write_text(tmp_ / "dst" / repo / "blobs/small1", "{\"n\": 9}");
  auto drifted = run({"verify", uri("cache/m1"), "--against", (tmp_ / "dst").string()}, direct());
  EXPECT_EQ(drifted.exit_code, 1);
  EXPECT_NE(drifted.out.find("small1"), std::string::npos) << drifted.out;

  // rm refuses without --yes, then deletes the index first and everything else.
  auto refused = run({"rm", uri("cache/m1"), "-r"}, direct());
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_NE(refused.out.find("would delete .airlock/index.json"), std::string::npos) << refused.out;
  auto removed = run({"rm", uri("cache/m1"), "-r", "--yes", "--json"}, direct());
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(json_of(removed)["objects"], 6);
  auto empty = run({"ls", uri("cache/m1"), "-r", "--json"}, direct());
  ASSERT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_TRUE(json_of(empty)["objects"].empty());
  EXPECT_TRUE(json_of(empty)["index"].is_null());
}

TEST_F(SyncS3, DryRunChangesNothing) {
  make_cache(tmp_ / "cache", 1000);
  auto dry = run({"push", (tmp_ / "cache").string(), uri("dry/m"), "--dry-run", "--json"}, direct());
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(json_of(dry)["would_upload"].size(), 5u);
  auto listed = run({"ls", uri("dry/m"), "-r", "--json"}, direct());
  EXPECT_TRUE(json_of(listed)["objects"].empty());
}

TEST_F(SyncS3, FollowSymlinksUploadsCopies) {
  make_cache(tmp_ / "cache", 1000, 1);
  auto pushed = run({"push", (tmp_ / "cache").string(), uri("follow/m"), "--follow-symlinks", "--json"}, direct());
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  Json push = json_of(pushed);
  EXPECT_EQ(push["symlinks"], 0);
  EXPECT_EQ(push["files"], 6) << "3 blobs/refs + 3 snapshot entries as copies";
  // A reader that ignores the index (the aws CLI, a plain GET) finds the snapshot entry as an object.
  auto listed = run({"ls", uri("follow/m/huggingface/hub/models--org--model/snapshots/abc123"), "--json"}, direct());
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  bool found = false;
  const Json listing = json_of(listed);
  for (const auto& o : listing["objects"]) found = found || o["key"] == "model.safetensors";
  EXPECT_TRUE(found) << listed.out;
  auto pulled = run({"pull", uri("follow/m"), (tmp_ / "dst").string()}, direct());
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  const fs::path copy = tmp_ / "dst/huggingface/hub/models--org--model/snapshots/abc123/model.safetensors";
  EXPECT_FALSE(fs::is_symlink(copy));
  EXPECT_EQ(read_text(copy), pattern_bytes(1000, 42));
}

TEST_F(SyncS3, SymlinkLeavingTheTreeIsRefused) {
  make_cache(tmp_ / "cache", 100, 1);
  fs::create_symlink("/etc/hostname", tmp_ / "cache" / "outside");
  auto pushed = run({"push", (tmp_ / "cache").string(), uri("escape/m")}, direct());
  EXPECT_EQ(pushed.exit_code, 2) << pushed.err;
  EXPECT_NE(pushed.err.find("--follow-symlinks"), std::string::npos) << pushed.err;
}

TEST_F(SyncS3, KillDuringPushThenRerunFinishesWithoutReuploading) {
  fs::create_directories(tmp_ / "tree");
  for (int i = 0; i < 12; ++i)
    write_text(tmp_ / "tree" / ("f" + std::to_string(i) + ".bin"), pattern_bytes(256 * 1024, i));
  // Every upload through the proxy takes a while, so the push is surely in the middle.
  ASSERT_TRUE(proxy_->add_rule({{"fault", "delay"}, {"method", "PUT"}, {"seconds", 0.4}, {"times", -1}}));
  std::vector<std::string> argv = {airlock_binary().string(), "push",       (tmp_ / "tree").string(),
                                   uri("killed/push"),        "--jobs",     "2",
                                   "--endpoint-url",          proxy_->url()};
  pid_t pid = spawn_background(argv, tmp_ / "push.log", s3_client_env());
  ASSERT_TRUE(wait_until([&] { return proxy_count(*proxy_, "PUT", "killed/push/f") >= 4; }));
  ::kill(pid, SIGKILL);
  EXPECT_EQ(wait_for(pid), 128 + SIGKILL);
  const int done_before_kill = proxy_count(*proxy_, "PUT", "killed/push/f");
  EXPECT_LT(done_before_kill, 12);
  EXPECT_EQ(proxy_count(*proxy_, "PUT", ".airlock/index.json"), 0) << "the index is written last";

  auto rerun = run({"push", (tmp_ / "tree").string(), uri("killed/push"), "--json"}, direct());
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  Json summary = json_of(rerun);
  EXPECT_GE(summary["unchanged_files"].get<int>(), done_before_kill) << "finished uploads are not sent again";
  EXPECT_EQ(summary["uploaded_files"].get<int>() + summary["unchanged_files"].get<int>(), 12);
  EXPECT_EQ(summary["index_written"], true);
  auto pulled = run({"pull", uri("killed/push"), (tmp_ / "back").string()}, direct());
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  EXPECT_EQ(read_text(tmp_ / "back" / "f7.bin"), pattern_bytes(256 * 1024, 7));
}

TEST_F(SyncS3, KilledMultipartPushLeavesStaleUploadsThatTheRerunAborts) {
  fs::create_directories(tmp_ / "tree");
  const std::size_t size = 6 * 1024 * 1024 + 1;  // two 5 MiB parts
  write_text(tmp_ / "tree" / "a.bin", pattern_bytes(size, 21));
  write_text(tmp_ / "tree" / "b.bin", pattern_bytes(size, 22));
  write_text(tmp_ / "tree" / "c.json", "{}");
  // A stale upload of another tree whose name starts the same: a prefix is a directory, so the
  // cleanup must leave it alone. Started by the aws CLI, a real client.
  auto other = run_command({aws_cli(), "--endpoint-url", proxy_->url(), "s3api", "create-multipart-upload", "--bucket",
                            kBucket, "--key", "stale/m-other/x.bin"},
                           s3_client_env());
  ASSERT_EQ(other.exit_code, 0) << other.err;
  ASSERT_TRUE(proxy_->add_rule({{"fault", "delay"}, {"method", "PUT"}, {"path", "partNumber="}, {"seconds", 1.0},
                                {"times", -1}}));
  std::vector<std::string> argv = {airlock_binary().string(), "push", (tmp_ / "tree").string(), uri("stale/m"),
                                   "--jobs", "2", "--multipart-threshold", "5MiB", "--part-size", "5MiB",
                                   "--endpoint-url", proxy_->url()};
  pid_t pid = spawn_background(argv, tmp_ / "push.log", s3_client_env());
  ASSERT_TRUE(wait_until([&] { return proxy_count(*proxy_, "POST", "stale/m/", 200) >= 2; }))
      << read_text(tmp_ / "push.log");
  ::kill(pid, SIGKILL);
  wait_for(pid);
  ASSERT_EQ(proxy_->stats()["uploads"].size(), 3u) << dump_json(proxy_->stats()["uploads"]);

  proxy_->clear_rules();
  auto rerun = run({"push", (tmp_ / "tree").string(), uri("stale/m"), "--json", "--multipart-threshold", "5MiB",
                    "--part-size", "5MiB"},
                   proxied());
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  Json summary = json_of(rerun);
  EXPECT_EQ(summary["aborted_uploads"], 2);
  EXPECT_EQ(summary["index_written"], true);
  EXPECT_EQ(proxy_count(*proxy_, "DELETE", "uploadId=", 204), 2);
  Json left = proxy_->stats()["uploads"];
  ASSERT_EQ(left.size(), 1u) << dump_json(left);
  EXPECT_EQ(left[0][1], "stale/m-other/x.bin");
  auto pulled = run({"pull", uri("stale/m"), (tmp_ / "back").string(), "--json"}, direct());
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  EXPECT_EQ(json_of(pulled)["verified"], true);
  EXPECT_EQ(sha_of_file(tmp_ / "back" / "b.bin"), sha_of_file(tmp_ / "tree" / "b.bin"));
}

TEST_F(SyncS3, KillDuringPullThenRerunResumes) {
  const std::size_t size = 12 * 1024 * 1024 + 5;
  fs::create_directories(tmp_ / "tree");
  write_text(tmp_ / "tree" / "weights.bin", pattern_bytes(size, 9));
  write_text(tmp_ / "tree" / "config.json", "{}");
  ASSERT_EQ(run({"push", (tmp_ / "tree").string(), uri("killed/pull")}, direct()).exit_code, 0);
  ASSERT_TRUE(proxy_->add_rule(
      {{"fault", "delay"}, {"method", "GET"}, {"path", "weights.bin"}, {"seconds", 0.25}, {"times", -1}}));
  std::vector<std::string> argv = {airlock_binary().string(),
                                   "pull",
                                   uri("killed/pull"),
                                   (tmp_ / "dst").string(),
                                   "--part-size",
                                   "1MiB",
                                   "--part-parallel",
                                   "2",
                                   "--endpoint-url",
                                   proxy_->url()};
  pid_t pid = spawn_background(argv, tmp_ / "pull.log", s3_client_env());
  const fs::path partial = tmp_ / "dst" / ".weights.bin.airlock-partial";
  ASSERT_TRUE(wait_until([&] {
    std::error_code ec;
    return fs::exists(partial, ec) && fs::file_size(partial, ec) >= 3 * 1024 * 1024;
  })) << read_text(tmp_ / "pull.log");
  ::kill(pid, SIGKILL);
  wait_for(pid);
  EXPECT_FALSE(fs::exists(tmp_ / "dst" / "weights.bin")) << "nothing unverified lands under its final name";
  const auto kept = fs::file_size(partial);

  auto rerun = run({"pull", uri("killed/pull"), (tmp_ / "dst").string(), "--json"}, direct());
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  Json summary = json_of(rerun);
  EXPECT_EQ(summary["resumed_files"], 1);
  EXPECT_LE(summary["fetched_bytes"].get<std::uint64_t>(), size - kept + 2) << "the rerun continues, not restarts";
  EXPECT_EQ(summary["verified"], true);
  EXPECT_EQ(sha_of_file(tmp_ / "dst" / "weights.bin"), sha_of_file(tmp_ / "tree" / "weights.bin"));
  EXPECT_FALSE(fs::exists(partial));
}

TEST_F(SyncS3, TransfersSurviveResetsErrorsAndTruncation) {
  fs::create_directories(tmp_ / "tree");
  write_text(tmp_ / "tree" / "big.bin", pattern_bytes(3 * 1024 * 1024, 4));
  write_text(tmp_ / "tree" / "a.txt", "a");
  ASSERT_TRUE(proxy_->add_rule({{"fault", "reset"}, {"method", "PUT"}, {"path", "big.bin"}, {"times", 1}}));
  ASSERT_TRUE(proxy_->add_rule({{"fault", "status"},
                                {"status", 503},
                                {"code", "SlowDown"},
                                {"retry_after", "1"},
                                {"method", "PUT"},
                                {"path", "a.txt"},
                                {"times", 2}}));
  ASSERT_TRUE(proxy_->add_rule(
      {{"fault", "status"}, {"status", 500}, {"method", "PUT"}, {"path", "index.json"}, {"times", 1}}));
  const auto started = std::chrono::steady_clock::now();
  auto pushed = run({"push", (tmp_ / "tree").string(), uri("faults/m")}, proxied());
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1900))
      << "Retry-After: 1 was honoured twice";
  Json injected = proxy_->stats()["injected"];
  EXPECT_EQ(injected["reset"], 1);
  EXPECT_EQ(injected["status"], 3);

  // The pull reads big.bin in 1 MiB ranged parts, 4 in flight: each broken part is retried (and
  // continued) on its own while the bytes still reach the file in order.
  proxy_->reset();
  ASSERT_TRUE(proxy_->add_rule({{"fault", "truncate"}, {"method", "GET"}, {"path", "big.bin"}, {"times", 2}}));
  ASSERT_TRUE(proxy_->add_rule({{"fault", "reset"}, {"method", "GET"}, {"path", "big.bin"}, {"times", 1}}));
  ASSERT_TRUE(proxy_->add_rule({{"fault", "status"}, {"status", 503}, {"code", "SlowDown"}, {"retry_after", "0"},
                                {"method", "GET"}, {"path", "big.bin"}, {"times", 1}}));
  ASSERT_TRUE(proxy_->add_rule({{"fault", "reset"}, {"method", "GET"}, {"path", "a.txt"}, {"times", 1}}));
  ASSERT_TRUE(proxy_->add_rule(
      {{"fault", "status"}, {"status", 500}, {"method", "GET"}, {"path", "index.json"}, {"times", 1}}));
  auto pulled = run({"pull", uri("faults/m"), (tmp_ / "dst").string(), "--json", "--part-size", "1MiB"}, proxied());
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  EXPECT_EQ(json_of(pulled)["verified"], true);
  EXPECT_EQ(read_text(tmp_ / "dst" / "big.bin"), pattern_bytes(3 * 1024 * 1024, 4));
  Json pulled_faults = proxy_->stats()["injected"];
  EXPECT_EQ(pulled_faults["truncate"], 2);
  EXPECT_EQ(pulled_faults["reset"], 2);
  EXPECT_EQ(pulled_faults["status"], 2);
  EXPECT_GE(proxy_count(*proxy_, "GET", "big.bin", 206), 3) << "read in ranged parts";
}

TEST_F(SyncS3, FlippedByteInTransitIsFetchedAgainThenNeverAccepted) {
  fs::create_directories(tmp_ / "tree");
  const std::string data = pattern_bytes(600 * 1024, 8);
  write_text(tmp_ / "tree" / "model.bin", data);
  ASSERT_EQ(run({"push", (tmp_ / "tree").string(), uri("flip/m")}, direct()).exit_code, 0);

  // Once: reported, fetched again, accepted only because the second copy is right.
  ASSERT_TRUE(proxy_->add_rule({{"fault", "flip"}, {"method", "GET"}, {"path", "model.bin"}, {"times", 1}}));
  auto once = run({"pull", uri("flip/m"), (tmp_ / "once").string(), "--json"}, proxied());
  ASSERT_EQ(once.exit_code, 0) << once.err;
  EXPECT_EQ(json_of(once)["refetched_corrupt"], 1);
  EXPECT_NE(once.err.find("corrupt: model.bin"), std::string::npos) << once.err;
  EXPECT_EQ(read_text(tmp_ / "once" / "model.bin"), data);

  // Always: the pull fails, naming the file and both hashes, and leaves nothing behind.
  proxy_->reset();
  ASSERT_TRUE(proxy_->add_rule({{"fault", "flip"}, {"method", "GET"}, {"path", "model.bin"}, {"times", -1}}));
  auto always = run({"pull", uri("flip/m"), (tmp_ / "always").string()}, proxied());
  EXPECT_EQ(always.exit_code, 1) << always.err;
  EXPECT_NE(always.err.find("model.bin"), std::string::npos) << always.err;
  EXPECT_NE(always.err.find(sha256_hex(data)), std::string::npos) << always.err;
  EXPECT_FALSE(fs::exists(tmp_ / "always" / "model.bin"));
  EXPECT_EQ(proxy_count(*proxy_, "GET", "model.bin", 206), 2)
      << "fetched once more, then given up: " << dump_json(proxy_->stats());
}

TEST_F(SyncS3, CorruptStoredObjectIsReportedByVerifyAndPull) {
  fs::create_directories(tmp_ / "tree");
  const std::string data = pattern_bytes(100 * 1024, 12);
  write_text(tmp_ / "tree" / "w.bin", data);
  ASSERT_EQ(run({"push", (tmp_ / "tree").string(), uri("rot/m")}, direct()).exit_code, 0);
  // Bit rot on the server's disk.
  std::string stored = read_text(server_->object_file(kBucket, "rot/m/w.bin"));
  ASSERT_EQ(stored, data);
  stored[777] = static_cast<char>(stored[777] ^ 0x04);
  write_text(server_->object_file(kBucket, "rot/m/w.bin"), stored);
  auto verified = run({"verify", uri("rot/m"), "--json"}, direct());
  EXPECT_EQ(verified.exit_code, 1);
  Json report = json_of(verified);
  ASSERT_EQ(report["problems"].size(), 1u);
  EXPECT_EQ(report["problems"][0]["path"], "w.bin");
  auto pulled = run({"pull", uri("rot/m"), (tmp_ / "dst").string()}, direct());
  EXPECT_EQ(pulled.exit_code, 1);
  EXPECT_NE(pulled.err.find(sha256_hex(stored)), std::string::npos) << pulled.err;
  EXPECT_FALSE(fs::exists(tmp_ / "dst" / "w.bin"));
}

TEST_F(SyncS3, HostileKeysInAListingAreRejectedBeforeWriting) {
  // A tree without an index, and a server whose listing turns one key into "../escape".
  fs::create_directories(tmp_ / "plain");
  write_text(tmp_ / "plain" / "ok.txt", "ok");
  write_text(tmp_ / "plain" / "evil.txt", "evil");
  ASSERT_EQ(run({"push", (tmp_ / "plain").string(), uri("hostile/m")}, direct()).exit_code, 0);
  ASSERT_EQ(run({"rm", uri("hostile/m/.airlock/index.json"), "--yes"}, direct()).exit_code, 0);
  for (const std::string bad : {"hostile/m/../../escape.txt", "hostile/m//etc/escape.txt"}) {
    SCOPED_TRACE(bad);
    proxy_->reset();
    ASSERT_TRUE(proxy_->add_rule({{"fault", "rewrite"},
                                  {"method", "GET"},
                                  {"path", "list-type=2"},
                                  {"from", "<Key>hostile/m/evil.txt</Key>"},
                                  {"to", "<Key>" + bad + "</Key>"},
                                  {"times", -1}}));
    auto pulled = run({"pull", uri("hostile/m"), (tmp_ / "dst").string()}, proxied());
    EXPECT_EQ(pulled.exit_code, 2) << pulled.err;
    EXPECT_FALSE(fs::exists(tmp_ / "dst" / "ok.txt")) << "nothing may be written";
    EXPECT_FALSE(fs::exists(tmp_.path().parent_path() / "escape.txt"));
  }
}

TEST_F(SyncS3, WrongCredentialsFailWithAPreciseError) {
  make_cache(tmp_ / "cache", 100, 1);
  auto pushed =
      airlock({"push", (tmp_ / "cache").string(), uri("creds/m"), "--endpoint-url", server_->endpoint()},
              {{"AWS_ACCESS_KEY_ID", "AKIAWRONGKEY00000000"}, {"AWS_SECRET_ACCESS_KEY", "wrong-secret-value"}});
  EXPECT_EQ(pushed.exit_code, 3) << pushed.err;
  EXPECT_NE(pushed.err.find("AWS_ACCESS_KEY_ID"), std::string::npos) << pushed.err;
  EXPECT_EQ(pushed.err.find("wrong-secret-value"), std::string::npos) << "a secret must never be shown";
  auto none = airlock({"push", (tmp_ / "cache").string(), uri("creds/m"), "--endpoint-url", server_->endpoint()},
                      {{"AWS_ACCESS_KEY_ID", "\x01unset"}, {"AWS_SECRET_ACCESS_KEY", "\x01unset"}});
  EXPECT_EQ(none.exit_code, 3) << none.err;
  EXPECT_NE(none.err.find("no AWS credentials"), std::string::npos) << none.err;
}

TEST_F(SyncS3, KServeAndAwsEndpointVariablesAndAnonymousReads) {
  make_cache(tmp_ / "cache", 1000, 1);
  ASSERT_EQ(run({"push", (tmp_ / "cache").string(), uri("env/m")}, direct()).exit_code, 0);
  const std::string host_port = "127.0.0.1:" + std::to_string(server_->port());
  // KServe's storage-initializer variables: a host without a scheme, S3_USE_HTTPS=0 for http.
  auto kserve = airlock({"ls", uri("env/m"), "--json"}, {{"S3_ENDPOINT", host_port}, {"S3_USE_HTTPS", "0"}});
  ASSERT_EQ(kserve.exit_code, 0) << kserve.err;
  EXPECT_EQ(json_of(kserve)["index"]["files"], 3);
  auto aws_style = airlock({"ls", uri("env/m"), "--json"}, {{"AWS_ENDPOINT_URL", "http://" + host_port}});
  ASSERT_EQ(aws_style.exit_code, 0) << aws_style.err;
  // --no-sign-request needs no credentials at all (s3rver lets anonymous reads through).
  auto anonymous = airlock(
      {"pull", uri("env/m"), (tmp_ / "dst").string(), "--no-sign-request", "--endpoint-url", server_->endpoint()},
      {{"AWS_ACCESS_KEY_ID", "\x01unset"}, {"AWS_SECRET_ACCESS_KEY", "\x01unset"}});
  ASSERT_EQ(anonymous.exit_code, 0) << anonymous.err;
  EXPECT_TRUE(fs::exists(tmp_ / "dst" / "huggingface/hub/models--org--model/refs/main"));
}

}  // namespace
}  // namespace airlock::testing
