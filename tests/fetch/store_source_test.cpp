// `airlock download-to-cache` with object-store sources (s3:// in the manifest), against s3rver
// (npm) started here: the files land in the cache's files hub like https:// sources do, verified
// against the manifest or, when it has none, against the sha256 airlock stored with the object
// on push; a rerun finds them in the cache; a corrupt stored object is never accepted; a run
// killed with kill -9 is continued by the next one from where it stopped.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "core/hash.h"
#include "core/json.h"
#include "store_servers.h"
#include "testing.h"

namespace airlock::testing {
namespace {
namespace fs = std::filesystem;

constexpr const char* kBucket = "models";
const fs::path kRepo = "files/hub/models--s3_models";

class StoreSourceDownload : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    isolate_aws_environment();
    server_ = new S3rver();
    ASSERT_TRUE(server_->start({kBucket})) << server_->last_output();
    proxy_ = new FaultProxy();
    ASSERT_TRUE(proxy_->start(server_->endpoint()));
  }
  static void TearDownTestSuite() {
    delete proxy_;
    delete server_;
  }

  // The airlock binary with s3rver's credentials and `endpoint` as AWS_ENDPOINT_URL.
  CommandResult airlock(std::vector<std::string> args, const std::string& endpoint) {
    args.insert(args.begin(), airlock_binary().string());
    auto env = s3_client_env();
    env["AWS_ENDPOINT_URL"] = endpoint;
    env["AIRLOCK_LOG_LEVEL"] = "info";  // NIM's "found in cache" lines are info
    return run_command(args, env);
  }

  // Pushes `files` (relative path -> content) to s3://models/<prefix> with airlock push.
  void push(const std::string& prefix, const std::map<std::string, std::string>& files) {
    for (const auto& [path, data] : files) {
      fs::create_directories((tmp_ / "src" / prefix / path).parent_path());
      write_text(tmp_ / "src" / prefix / path, data);
    }
    auto pushed = airlock({"push", (tmp_ / "src" / prefix).string(), std::string("s3://") + kBucket + "/" + prefix},
                          server_->endpoint());
    ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  }

  std::string manifest(const std::string& yaml) {
    write_text(tmp_ / "model.yaml", yaml);
    return (tmp_ / "model.yaml").string();
  }

  static Json json_of(const CommandResult& result) {
    auto parsed = parse_json(result.out, "airlock output");
    if (!parsed.ok()) {
      ADD_FAILURE() << "not JSON: " << result.out << "\nstderr: " << result.err;
      return Json::object();
    }
    return *parsed;
  }

  static S3rver* server_;
  static FaultProxy* proxy_;
  TempDir tmp_;
};

S3rver* StoreSourceDownload::server_ = nullptr;
FaultProxy* StoreSourceDownload::proxy_ = nullptr;

TEST_F(StoreSourceDownload, S3SourcesLandInTheFilesHubVerified) {
  const std::string weights = pattern_bytes(3 * 1024 * 1024 + 7, 51);
  const std::string config = "{\"hidden_size\": 8}\n";
  ASSERT_NO_FATAL_FAILURE(push("src/m", {{"config.json", config}, {"weights/model.safetensors", weights}}));
  const std::string m = manifest(
      "schema_version: airlock/1\nmodel: {name: s3/model}\nprofiles:\n  - id: 's3p'\n    tags: {device: cpu}\n"
      "    workspace:\n      files:\n"
      "        config.json: {uri: 's3://models/src/m/config.json'}\n"
      "        model.safetensors: {uri: 's3://models/src/m/weights/model.safetensors', sha256: '" +
      sha256_hex(weights) + "'}\n");
  const fs::path cache = tmp_ / "cache";
  auto run = airlock({"download-to-cache", "-m", m, "--all", "--cache-dir", cache.string(), "--json"},
                     server_->endpoint());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  Json summary = json_of(run);
  EXPECT_EQ(summary["downloaded"], 2);
  EXPECT_EQ(summary["ok"], true);

  auto record = read_json_file(cache / ".airlock/profiles/s3p.json");
  ASSERT_TRUE(record.ok()) << record.error().message();
  ASSERT_EQ((*record)["files"].size(), 2u);
  for (const auto& file : (*record)["files"]) {
    const std::string path = file["cache_path"].get<std::string>();
    EXPECT_TRUE(path.starts_with(kRepo.string() + "/snapshots/")) << path;
    EXPECT_TRUE(fs::is_symlink(cache / path)) << path;
    const std::string expected = file["path"] == "config.json" ? config : weights;
    EXPECT_EQ(file["sha256"], sha256_hex(expected));
    EXPECT_TRUE(read_text(cache / path) == expected) << path;
    // Blobs of the files hub are named by their sha256.
    EXPECT_EQ(fs::read_symlink(cache / path).filename().string(), sha256_hex(expected));
  }

  // A rerun finds both in the cache and fetches nothing.
  auto again = airlock({"download-to-cache", "-m", m, "--all", "--cache-dir", cache.string(), "--json"},
                       server_->endpoint());
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(json_of(again)["cached"], 2);
  EXPECT_EQ(json_of(again)["bytes_downloaded"], 0);
  EXPECT_NE(again.err.find("found in cache"), std::string::npos) << again.err;
}

TEST_F(StoreSourceDownload, EndpointUrlFlagAsForPushAndPull) {
  const std::string data = "tokenizer bytes\n";
  ASSERT_NO_FATAL_FAILURE(push("flag/m", {{"tokenizer.json", data}}));
  const std::string m = manifest(
      "schema_version: airlock/1\nmodel: {name: s3/flag}\nprofiles:\n  - id: 'flagp'\n    tags: {device: cpu}\n"
      "    workspace:\n      files:\n        tokenizer.json: {uri: 's3://models/flag/m/tokenizer.json'}\n");
  const fs::path cache = tmp_ / "cache";
  // The environment names a port nothing listens on: only the flag leads to the store.
  auto run = airlock({"download-to-cache", "-m", m, "--all", "--cache-dir", cache.string(), "--json", "--endpoint-url",
                      server_->endpoint(), "--s3-addressing", "path"},
                     "http://127.0.0.1:9");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(json_of(run)["downloaded"], 1);
  // --profile stays the model profile; the AWS profile is --aws-profile, as in serve.
  auto unknown = airlock({"download-to-cache", "-m", m, "-p", "flagp", "--cache-dir", (tmp_ / "cache2").string(), "--aws-profile",
                          "no-such-profile", "--endpoint-url", server_->endpoint()},
                         server_->endpoint());
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("no-such-profile"), std::string::npos) << unknown.err;
}

TEST_F(StoreSourceDownload, CorruptOrMissingObjectsAreNeverAccepted) {
  const std::string data = pattern_bytes(200 * 1024, 52);
  ASSERT_NO_FATAL_FAILURE(push("rot/m", {{"w.bin", data}}));
  // Bit rot on the server's disk: same size, one byte off. The manifest gives no sha256: the one
  // airlock stored with the object on push is the judge.
  std::string stored = read_text(server_->object_file(kBucket, "rot/m/w.bin"));
  stored[4321] = static_cast<char>(stored[4321] ^ 0x10);
  write_text(server_->object_file(kBucket, "rot/m/w.bin"), stored);
  const std::string m = manifest(
      "schema_version: airlock/1\nmodel: {name: s3/rot}\nprofiles:\n  - id: 'rot'\n    tags: {device: cpu}\n"
      "    workspace:\n      files:\n        w.bin: {uri: 's3://models/rot/m/w.bin'}\n"
      "        gone.bin: {uri: 's3://models/rot/m/gone.bin'}\n");
  const fs::path cache = tmp_ / "cache";
  auto run = airlock({"download-to-cache", "-m", m, "--all", "--cache-dir", cache.string()}, server_->endpoint());
  EXPECT_NE(run.exit_code, 0);
  const std::string output = run.out + run.err;
  EXPECT_NE(output.find(sha256_hex(data)), std::string::npos) << "the expected hash: " << output;
  EXPECT_NE(output.find(sha256_hex(stored)), std::string::npos) << "the hash received: " << output;
  EXPECT_NE(output.find("s3://models/rot/m/gone.bin"), std::string::npos) << output;
  EXPECT_FALSE(fs::exists(cache / kRepo / "blobs" / sha256_hex(stored)));
  EXPECT_FALSE(fs::exists(cache / ".airlock/profiles/rot.json")) << "an incomplete profile gets no record";
}

TEST_F(StoreSourceDownload, KilledDownloadIsContinued) {
  const std::size_t size = 8 * 1024 * 1024 + 3;
  const std::string data = pattern_bytes(size, 53);
  ASSERT_NO_FATAL_FAILURE(push("resume/m", {{"big.bin", data}}));
  const std::string m = manifest(
      "schema_version: airlock/1\nmodel: {name: s3/resume}\nprofiles:\n  - id: 'res'\n    tags: {device: cpu}\n"
      "    workspace:\n      files:\n        big.bin: {uri: 's3://models/resume/m/big.bin'}\n");
  const fs::path cache = tmp_ / "cache";
  proxy_->reset();
  ASSERT_TRUE(proxy_->add_rule(
      {{"fault", "delay"}, {"method", "GET"}, {"path", "big.bin"}, {"seconds", 0.3}, {"times", -1}}));
  std::vector<std::string> argv = {airlock_binary().string(), "download-to-cache", "-m", m, "--all", "--cache-dir",
                                   cache.string(), "--chunk-size", "1MiB", "--jobs", "2"};
  auto env = s3_client_env();
  env["AWS_ENDPOINT_URL"] = proxy_->url();
  pid_t pid = spawn_background(argv, tmp_ / "run.log", env);
  // Wait until a partial file of at least 2 MiB exists somewhere in the cache.
  auto partial_bytes = [&]() -> std::uintmax_t {
    std::error_code ec;
    std::uintmax_t largest = 0;
    for (auto it = fs::recursive_directory_iterator(cache, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->is_regular_file(ec) && it->path().string().find("/blobs/") == std::string::npos) {
        largest = std::max(largest, it->file_size(ec));
      }
    }
    return largest;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (partial_bytes() < 2u * 1024 * 1024 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  wait_for(pid);
  const auto kept = partial_bytes();
  ASSERT_GE(kept, 2u * 1024 * 1024) << read_text(tmp_ / "run.log");
  ASSERT_LT(kept, size) << "the download finished before the kill; nothing left to continue";

  auto rerun = airlock({"download-to-cache", "-m", m, "--all", "--cache-dir", cache.string(), "--json"},
                       server_->endpoint());
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  Json summary = json_of(rerun);
  EXPECT_GE(summary["bytes_resumed"].get<std::uint64_t>(), 2u * 1024 * 1024) << rerun.out;
  EXPECT_LE(summary["bytes_downloaded"].get<std::uint64_t>(), size - 2u * 1024 * 1024) << rerun.out;
  auto record = read_json_file(cache / ".airlock/profiles/res.json");
  ASSERT_TRUE(record.ok()) << record.error().message();
  EXPECT_EQ((*record)["files"][0]["sha256"], sha256_hex(data));
}

}  // namespace
}  // namespace airlock::testing
