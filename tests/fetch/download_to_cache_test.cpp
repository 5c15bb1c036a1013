// `airlock download-to-cache` as a user runs it, against the NGC and Hugging Face test servers:
// the happy path for both hubs, cache hits, checksums.blake3, faults (dropped bodies, 503s,
// flipped bytes), resume after kill -9, two processes on one cache, hostile manifests, and the
// messages for 401/403/404.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "cache/hub_layout.h"
#include "core/blake3.h"
#include "core/hash.h"
#include "fetch_fixture.h"

namespace airlock::fetch_test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kProfile = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

class DownloadToCache : public FetchTest {
 protected:
  // A profile mixing Hugging Face weights and an NGC engine with its checksums.blake3.
  void build_model() {
    hf_file("org/tiny", "config.json", "{\"hidden_size\": 8}\n");
    hf_file("org/tiny", "tokenizer.json", content(1, 5000));
    hf_file("org/tiny", "1_Pooling/config.json", "{\"pooling\": \"mean\"}\n");
    hf_file("org/tiny", "model.safetensors", content(2, 3'000'000));
    engine_ = content(3, 2'500'000);
    engine_config_ = "{\"engine\": true}\n";
    ngc_file("nim/meta/tiny", "1.0+a", "rank0.engine", engine_);
    ngc_file("nim/meta/tiny", "1.0+a", "config.json", engine_config_);
    for (int i = 0; i < 5; ++i) ngc_file("nim/meta/tiny", "1.0+a", "extra/f" + std::to_string(i) + ".txt", "x");
    ngc_file("nim/meta/tiny", "1.0+a", "checksums.blake3",
             blake3_hex(engine_) + "  rank0.engine\n" + blake3_hex(engine_config_) + "  config.json\n");
    manifest_ = manifest("model.yaml", std::string(R"(schema_version: '2.0.0'
profiles:
  - id: ')") + kProfile + R"('
    tags: {llm_engine: tensorrt_llm, precision: fp8, tp: '1', pp: '1', profile: latency, gpu: H100, gpu_device: '2330:10de'}
    workspace:
      files:
        config.json: {uri: 'hf://org/tiny?file=config.json'}
        tokenizer.json: {uri: 'hf://org/tiny:main?file=tokenizer.json'}
        1_Pooling/config.json: {uri: 'hf://org/tiny?file=1_Pooling/config.json'}
        model.safetensors: {uri: 'hf://org/tiny?file=model.safetensors'}
        trtllm_engine/config.json: {uri: 'ngc://nim/meta/tiny:1.0+a?file=config.json'}
        trtllm_engine/checksums.blake3: {uri: 'ngc://nim/meta/tiny:1.0+a?file=checksums.blake3'}
        trtllm_engine/rank0.engine: {uri: 'ngc://nim/meta/tiny:1.0+a?file=rank0.engine'}
)");
  }

  void start_both(std::vector<std::string> ngc_extra = {}, std::vector<std::string> hf_extra = {}) {
    ASSERT_NO_FATAL_FAILURE(start_ngc(std::move(ngc_extra)));
    ASSERT_NO_FATAL_FAILURE(start_hf(std::move(hf_extra)));
  }

  std::vector<std::string> download_args(std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"download-to-cache", "-m", manifest_, "-p", kProfile, "--cache-dir", cache().string()};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }

  fs::path hf_repo() const { return cache() / "huggingface/hub/models--org--tiny"; }
  fs::path ngc_repo() const { return cache() / "ngc/hub/models--nim--meta--tiny"; }

  std::string engine_;
  std::string engine_config_;
  std::string manifest_;
};

TEST_F(DownloadToCache, BothHubsIntoTheHubLayoutThenFromCache) {
  build_model();
  ASSERT_NO_FATAL_FAILURE(start_both());
  auto run = airlock(download_args({"--json"}));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  Json summary = parse_json(run.out, "summary").value();
  EXPECT_EQ(summary["downloaded"], 7);
  EXPECT_EQ(summary["bytes"], summary["bytes_downloaded"]);
  EXPECT_NE(run.err.find(std::string("Downloading contents for profile ") + kProfile + " (tensorrt_llm-h100-fp8-tp1-pp1-latency)"),
            std::string::npos)
      << run.err;

  // Hugging Face layout: refs/main without newline, relative links, blobs named by etag.
  std::string commit = testing::read_text(hf_repo() / "refs/main");
  ASSERT_EQ(commit.size(), 40u);
  fs::path snapshot = hf_repo() / "snapshots" / commit;
  std::string weights_sha = sha256_hex(content(2, 3'000'000));
  EXPECT_EQ(fs::read_symlink(snapshot / "model.safetensors").string(), "../../blobs/" + weights_sha);
  EXPECT_EQ(fs::read_symlink(snapshot / "1_Pooling/config.json").string(),
            "../../../blobs/" + git_blob_sha1_hex("{\"pooling\": \"mean\"}\n"));
  EXPECT_EQ(testing::read_text(snapshot / "tokenizer.json"), content(1, 5000));
  // NGC layout: snapshot and ref per version.
  EXPECT_EQ(testing::read_text(ngc_repo() / "snapshots/1.0+a/rank0.engine"), engine_);
  EXPECT_EQ(testing::read_text(ngc_repo() / "refs/1.0+a"), "1.0+a");
  EXPECT_TRUE(fs::read_symlink(ngc_repo() / "snapshots/1.0+a/rank0.engine").string().starts_with("../../blobs/"));
  // The record: every file with size, sha256, and BLAKE3 where checksums.blake3 covered it.
  Json record = read_json_file(cache() / ".airlock/profiles" / (std::string(kProfile) + ".json")).value();
  ASSERT_EQ(record["files"].size(), 7u);
  for (const auto& file : record["files"]) {
    if (file["path"] == "trtllm_engine/rank0.engine") {
      EXPECT_EQ(file["sha256"], sha256_hex(engine_));
      EXPECT_EQ(file["blake3"], blake3_hex(engine_));
      EXPECT_EQ(file["cache_path"], "ngc/hub/models--nim--meta--tiny/snapshots/1.0+a/rank0.engine");
    }
  }
  // The legacy key was exchanged once per scope, and the CDN never saw credentials (it refuses them).
  Json ngc_stats = stats(ngc_);
  int token_requests = 0;
  for (const auto& request : ngc_stats["requests"]) token_requests += request[1] == "/token" ? 1 : 0;
  EXPECT_EQ(token_requests, 1);
  EXPECT_GE(gets(ngc_, "/files?"), 0);

  // Second run: everything from the cache, no file bodies fetched.
  reset_stats(ngc_);
  reset_stats(hf_);
  auto again = airlock(download_args());
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("File: rank0.engine found in cache: \"ngc/hub/models--nim--meta--tiny/snapshots/1.0+a/rank0.engine\""),
            std::string::npos)
      << again.err;
  EXPECT_NE(again.err.find("Skipping download, using cached copy of file: model.safetensors"), std::string::npos);
  EXPECT_EQ(body_bytes(ngc_, "/cdn/"), 0u);
  EXPECT_EQ(body_bytes(hf_, ""), 0u);
  EXPECT_EQ(gets(hf_, "/api/"), 0) << "refs/main answered offline";
  EXPECT_NE(again.out.find("7 files (0 downloaded, 7 found in cache)"), std::string::npos) << again.out;

  // The cache commands on what was written.
  auto verify = airlock({"cache", "verify", "--cache-dir", cache().string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  auto store = airlock({"create-model-store", "-p", kProfile, "-m", (dir_ / "store").string(), "--cache-dir", cache().string()});
  ASSERT_EQ(store.exit_code, 0) << store.err;
  EXPECT_FALSE(fs::is_symlink(dir_ / "store/trtllm_engine/rank0.engine"));
  EXPECT_EQ(testing::read_text(dir_ / "store/trtllm_engine/rank0.engine"), engine_);
  auto ls = airlock({"cache", "ls", "--json", "--cache-dir", cache().string()});
  ASSERT_EQ(ls.exit_code, 0);
  EXPECT_EQ(parse_json(ls.out, "ls").value()["profiles"].size(), 1u);
  // A flipped byte in a blob: verify says so and exits 1.
  std::string flipped = engine_;
  flipped[100] ^= 1;
  fs::path blob = fs::canonical(ngc_repo() / "snapshots/1.0+a/rank0.engine");
  testing::write_text(blob, flipped);
  auto broken = airlock({"cache", "verify", "--cache-dir", cache().string()});
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.out.find("corrupt: profile"), std::string::npos) << broken.out;
}

TEST_F(DownloadToCache, FaultsAreSurvivedAndCorruptBodiesRefetched) {
  build_model();
  std::string weights_sha = sha256_hex(content(2, 3'000'000));
  ASSERT_NO_FATAL_FAILURE(start_both(
      {"--fault", "status:path=/listing,status=503,retry_after=1,times=1", "--fault", "drop:path=*rank0.engine,after=700000,times=2"},
      {"--fault", "flip:path=/cdn/hf/" + weights_sha + ",times=1", "--fault", "status:path=*tokenizer.json,status=500,times=2"}));
  auto run = airlock(download_args({"--chunk-size", "1MiB"}));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("is corrupt: sha256 is"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("downloading it again"), std::string::npos) << run.err;
  EXPECT_EQ(testing::read_text(hf_repo() / "blobs" / weights_sha), content(2, 3'000'000));
  EXPECT_EQ(testing::read_text(ngc_repo() / "snapshots/1.0+a/rank0.engine"), engine_);
  EXPECT_EQ(airlock({"cache", "verify", "--cache-dir", cache().string()}).exit_code, 0);
}

TEST_F(DownloadToCache, PersistentCorruptionFailsWithoutABlob) {
  build_model();
  ASSERT_NO_FATAL_FAILURE(start_both({"--fault", "flip:path=*rank0.engine,times=0"}));
  auto run = airlock(download_args());
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_NE(run.out.find("One or more errors fetching files:"), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("BLAKE3 is"), std::string::npos) << run.err;  // checksums.blake3 caught it
  EXPECT_FALSE(fs::exists(ngc_repo() / "snapshots/1.0+a/rank0.engine"));
  for (const auto& entry : fs::directory_iterator(ngc_repo() / "blobs")) {
    EXPECT_NE(sha256_hex(testing::read_text(entry.path())), sha256_hex(engine_));
  }
  EXPECT_FALSE(fs::exists(cache() / ".airlock/profiles" / (std::string(kProfile) + ".json")));
}

TEST_F(DownloadToCache, ResumesAfterKill9) {
  build_model();
  std::string big = content(9, 12 * 1024 * 1024);
  ngc_file("nim/meta/tiny", "2.0", "rank0.engine", big);
  ngc_file("nim/meta/tiny", "2.0", "config.json", "{\"v\": 2}\n");
  std::string m = manifest("big.yaml", std::string(R"(schema_version: '2.0.0'
profiles:
  - id: 'b1'
    tags: {llm_engine: tensorrt_llm, gpu: H100}
    workspace:
      files:
        config.json: {uri: 'ngc://nim/meta/tiny:2.0?file=config.json'}
        rank0.engine: {uri: 'ngc://nim/meta/tiny:2.0?file=rank0.engine'}
)"));
  ASSERT_NO_FATAL_FAILURE(start_ngc({"--fault", "slow:path=*rank0.engine,rate=700000,times=0"}));
  auto vars = env();
  pid_t pid = testing::spawn_background(
      airlock_argv({"download-to-cache", "-m", m, "-p", "b1", "--cache-dir", cache().string(), "--chunk-size", "1MiB", "-j", "4"}),
      dir_ / "first.log", vars);
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (body_bytes(ngc_, "rank0.engine") < 5'000'000 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(100ms);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  EXPECT_EQ(testing::wait_for(pid), 128 + SIGKILL) << testing::read_text(dir_ / "first.log");
  ASSERT_TRUE(fs::exists(ngc_repo() / "snapshots/2.0/config.json")) << "the small file finished before the kill";
  std::uint64_t sent_before = body_bytes(ngc_, "rank0.engine");

  set_faults(ngc_, {});
  reset_stats(ngc_);
  auto second = airlock({"download-to-cache", "-m", m, "-p", "b1", "--cache-dir", cache().string(), "--chunk-size", "1MiB", "--json"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  Json summary = parse_json(second.out, "summary").value();
  EXPECT_EQ(summary["cached"], 1);
  EXPECT_GT(summary["bytes_resumed"].get<std::uint64_t>(), 3'000'000u) << "sent before the kill: " << sent_before;
  EXPECT_EQ(summary["bytes_downloaded"].get<std::uint64_t>() + summary["bytes_resumed"].get<std::uint64_t>(), big.size());
  EXPECT_EQ(gets(ngc_, "config.json"), 0);
  EXPECT_LT(body_bytes(ngc_, "rank0.engine"), big.size() - 3'000'000);
  EXPECT_EQ(testing::read_text(ngc_repo() / "snapshots/2.0/rank0.engine"), big);
  bool ranged = false;
  Json requests = stats(ngc_)["requests"];
  for (const auto& request : requests) ranged = ranged || request[3].get<std::string>().starts_with("bytes=");
  EXPECT_TRUE(ranged);
}

TEST_F(DownloadToCache, TwoProcessesShareTheWorkWithoutCorruption) {
  build_model();
  std::string weights_sha = sha256_hex(content(2, 3'000'000));
  ASSERT_NO_FATAL_FAILURE(start_both({"--fault", "slow:path=*rank0.engine,rate=3000000,times=0"},
                                     {"--fault", "slow:path=/cdn/*,rate=3000000,times=0"}));
  auto vars = env();
  pid_t a = testing::spawn_background(airlock_argv(download_args()), dir_ / "a.log", vars);
  pid_t b = testing::spawn_background(airlock_argv(download_args()), dir_ / "b.log", vars);
  EXPECT_EQ(testing::wait_for(a), 0) << testing::read_text(dir_ / "a.log");
  EXPECT_EQ(testing::wait_for(b), 0) << testing::read_text(dir_ / "b.log");
  // Each large file crossed the wire once, whichever process fetched it.
  EXPECT_EQ(body_bytes(ngc_, "rank0.engine"), engine_.size());
  EXPECT_EQ(body_bytes(hf_, weights_sha), 3'000'000u);
  std::string logs = testing::read_text(dir_ / "a.log") + testing::read_text(dir_ / "b.log");
  EXPECT_NE(logs.find("found in cache"), std::string::npos);
  EXPECT_EQ(airlock({"cache", "verify", "--cache-dir", cache().string()}).exit_code, 0);
}

TEST_F(DownloadToCache, HostileManifestsChangeNothing) {
  build_model();
  ASSERT_NO_FATAL_FAILURE(start_both());
  auto hostile = [&](const std::string& name, const std::string& id, const std::string& path, const std::string& uri) {
    return manifest(name, "schema_version: '2.0.0'\nprofiles:\n  - id: '" + id + "'\n    tags: {gpu: H100}\n    workspace:\n      files:\n"
                              "        '" + path + "': {uri: '" + uri + "'}\n");
  };
  std::vector<std::string> manifests = {
      hostile("dotdot.yaml", "p1", "../../escape.bin", "hf://org/tiny?file=config.json"),
      hostile("absolute.yaml", "p1", "/etc/passwd", "hf://org/tiny?file=config.json"),
      hostile("file-param.yaml", "p1", "config.json", "hf://org/tiny?file=../../../../etc/passwd"),
      hostile("ngc-file.yaml", "p1", "config.json", "ngc://nim/meta/tiny:1.0+a?file=/etc/passwd"),
      hostile("version.yaml", "p1", "config.json", "ngc://nim/meta/tiny:..?file=config.json"),
      hostile("id.yaml", "a/../../../x", "config.json", "hf://org/tiny?file=config.json"),
      hostile("s3-key.yaml", "p1", "x.bin", "s3://bucket/models/%2e%2e"),
  };
  for (const std::string& m : manifests) {
    auto run = airlock({"download-to-cache", "-m", m, "--all", "--cache-dir", cache().string()});
    EXPECT_EQ(run.exit_code, 2) << m << "\n" << run.err;
    EXPECT_FALSE(fs::exists(cache())) << m << " wrote into the cache";
  }
  EXPECT_FALSE(fs::exists(dir_ / "escape.bin"));
  // A symlink planted in the cache that leads out of it.
  fs::path outside = dir_ / "outside";
  fs::create_directories(outside);
  fs::create_directories(cache() / "ngc/hub");
  fs::create_directory_symlink(outside, cache() / "ngc/hub/models--nim--meta--tiny");
  auto planted = airlock(download_args());
  EXPECT_EQ(planted.exit_code, 2) << planted.err;
  EXPECT_NE(planted.err.find("outside"), std::string::npos) << planted.err;
  EXPECT_TRUE(fs::is_empty(outside));
  EXPECT_FALSE(fs::exists(cache() / ".airlock"));
  EXPECT_FALSE(fs::exists(cache() / "huggingface"));
  // Object stores are sources (tests/fetch/store_source_test.cpp); a scheme no store backend
  // serves is refused and says so.
  auto oci = airlock({"download-to-cache", "-m", hostile("oci.yaml", "p1", "x.bin", "oci://registry/models/x:1"), "--all",
                      "--cache-dir", cache().string()});
  EXPECT_EQ(oci.exit_code, 2);
  EXPECT_NE(oci.err.find("not supported yet by download-to-cache: oci"), std::string::npos) << oci.err;
}

TEST_F(DownloadToCache, CredentialErrorsNameTheVariable) {
  build_model();
  // The `nim` org's listing answers "Org contex missing": the files come from checksums.blake3.
  ASSERT_NO_FATAL_FAILURE(start_both({"--deny", "nim/secret", "--org-context-missing", "nim"}, {"--private", "org/tiny"}));
  ngc_file("nim/secret/m", "1", "a.bin", "a");
  std::string ngc_only = manifest("ngc.yaml", R"(schema_version: '2.0.0'
profiles:
  - id: 'n1'
    tags: {gpu: H100}
    workspace: {files: {config.json: {uri: 'ngc://nim/meta/tiny:1.0+a?file=config.json'}}}
  - id: 'n2'
    tags: {gpu: H100}
    workspace: {files: {a.bin: {uri: 'ngc://nim/secret/m:1?file=a.bin'}}}
  - id: 'h1'
    tags: {gpu: H100}
    workspace:
      files:
        config.json: {uri: 'hf://org/tiny?file=config.json'}
        model.safetensors: {uri: 'hf://org/tiny?file=model.safetensors'}
)");
  auto run = [&](const std::string& profile, std::map<std::string, std::string> vars) {
    return airlock({"download-to-cache", "-m", ngc_only, "-p", profile, "--cache-dir", cache().string()}, std::move(vars));
  };
  auto no_key = run("n1", {{"NGC_API_KEY", "\x01unset"}});
  EXPECT_EQ(no_key.exit_code, 3) << no_key.err;
  EXPECT_NE(no_key.err.find("set NGC_API_KEY (or NGC_CLI_API_KEY)"), std::string::npos) << no_key.err;
  auto wrong_key = run("n1", {{"NGC_API_KEY", "wrong-key-value-1234"}});
  EXPECT_EQ(wrong_key.exit_code, 3);
  EXPECT_NE(wrong_key.err.find("rejected the key in NGC_API_KEY"), std::string::npos) << wrong_key.err;
  EXPECT_EQ(wrong_key.err.find("wrong-key-value-1234"), std::string::npos) << "the key must not be shown";
  auto cli_key = run("n1", {{"NGC_API_KEY", "\x01unset"}, {"NGC_CLI_API_KEY", kNgcKey}});
  EXPECT_EQ(cli_key.exit_code, 0) << cli_key.err;
  auto denied = run("n2", {});
  EXPECT_EQ(denied.exit_code, 3);
  EXPECT_NE(denied.err.find("HTTP 403"), std::string::npos) << denied.err;
  EXPECT_NE(denied.err.find("NGC_API_KEY"), std::string::npos) << denied.err;
  auto hf_none = run("h1", {});
  EXPECT_EQ(hf_none.exit_code, 3);
  EXPECT_NE(hf_none.err.find("set HF_TOKEN"), std::string::npos) << hf_none.err;
  auto hf_wrong = run("h1", {{"HF_TOKEN", "hf_wrong_token_value"}});
  EXPECT_EQ(hf_wrong.exit_code, 3);
  EXPECT_NE(hf_wrong.err.find("HF_TOKEN"), std::string::npos) << hf_wrong.err;
  EXPECT_EQ(hf_wrong.err.find("hf_wrong_token_value"), std::string::npos);
  // With the token, the LFS file is fetched from the CDN, which refuses any Authorization header.
  auto hf_ok = run("h1", {{"HF_TOKEN", kHfToken}});
  EXPECT_EQ(hf_ok.exit_code, 0) << hf_ok.err;
  EXPECT_EQ(body_bytes(hf_, "/cdn/hf/"), 3'000'000u);
  EXPECT_EQ(hf_ok.err.find(kHfToken), std::string::npos);
}

TEST_F(DownloadToCache, GatedRepoAndPersonalKeys) {
  build_model();
  ASSERT_NO_FATAL_FAILURE(start_ngc({"--api-key", "nvapi-personal-test-key-0123"}));
  ASSERT_NO_FATAL_FAILURE(start_hf({"--gated", "org/tiny"}));
  std::string m = manifest("gated.yaml", R"(schema_version: '2.0.0'
profiles:
  - id: 'g1'
    tags: {gpu: H100}
    workspace: {files: {config.json: {uri: 'hf://org/tiny?file=config.json'}}}
  - id: 'n1'
    tags: {gpu: H100}
    workspace: {files: {config.json: {uri: 'ngc://nim/meta/tiny:1.0+a?file=config.json'}}}
)");
  auto gated = airlock({"download-to-cache", "-m", m, "-p", "g1", "--cache-dir", cache().string()}, {{"HF_TOKEN", "hf_other_token"}});
  EXPECT_EQ(gated.exit_code, 3);
  EXPECT_NE(gated.err.find("HTTP 403"), std::string::npos) << gated.err;
  EXPECT_NE(gated.err.find("HF_TOKEN"), std::string::npos) << gated.err;
  auto personal = airlock({"download-to-cache", "-m", m, "-p", "n1", "--cache-dir", cache().string()},
                          {{"NGC_API_KEY", "nvapi-personal-test-key-0123"}});
  EXPECT_EQ(personal.exit_code, 0) << personal.err;
  Json requests = stats(ngc_)["requests"];
  for (const auto& request : requests) EXPECT_NE(request[1], "/token") << "nvapi- keys are bearer tokens";
}

TEST_F(DownloadToCache, NotFoundNamesFileAndVersion) {
  build_model();
  ASSERT_NO_FATAL_FAILURE(start_both());
  std::string m = manifest("missing.yaml", R"(schema_version: '2.0.0'
profiles:
  - id: 'm1'
    tags: {gpu: H100}
    workspace:
      files:
        a.bin: {uri: 'ngc://nim/meta/tiny:1.0+a?file=missing.bin'}
        b.json: {uri: 'hf://org/tiny?file=missing.json'}
        c.bin: {uri: 'ngc://nim/meta/tiny:9.9?file=config.json'}
)");
  auto run = airlock({"download-to-cache", "-m", m, "-p", "m1", "--cache-dir", cache().string()});
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_NE(run.out.find("NGC model nim/meta/tiny version '1.0+a' has no file 'missing.bin'"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("Hugging Face has no file 'missing.json' in org/tiny at revision 'main'"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("NGC has no model nim/meta/tiny version '9.9'"), std::string::npos) << run.out;
  auto unknown = airlock({"download-to-cache", "-m", m, "-p", "nope", "--cache-dir", cache().string()});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("Unknown profiles provided: 'nope'"), std::string::npos) << unknown.err;
}

TEST_F(DownloadToCache, RefusesUpFrontWhenSpaceIsShort) {
  ASSERT_NO_FATAL_FAILURE(start_ngc());
  std::string m = manifest("huge.yaml", "schema_version: airlock/1\nmodel: {name: huge/model}\nprofiles:\n  - id: 'h1'\n"
                                        "    tags: {device: cpu}\n    workspace:\n      files:\n        big.bin: {uri: 'http://127.0.0.1:" +
                                            std::to_string(ngc_.port()) + "/_stats', size: 900000000000000}\n");
  auto run = airlock({"download-to-cache", "-m", m, "--all", "--cache-dir", cache().string()});
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_NE(run.err.find("not enough free space"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("--ignore-free-space"), std::string::npos) << run.err;
  EXPECT_EQ(gets(ngc_, "/_stats"), 0) << "nothing was downloaded";
}

TEST_F(DownloadToCache, PlainHttpsAndLocalSourcesGoToTheFilesHub) {
  // A plain file server with ETag and Range: the HTTP client's test server.
  testing::ServerProcess plain;
  ASSERT_TRUE(plain.start({"python3", (testing::project_root() / "tests/servers/http_test_server.py").string()}))
      << plain.last_output();
  testing::write_text(dir_ / "local.bin", content(4, 70000));
  std::string url = "http://127.0.0.1:" + std::to_string(plain.port()) + "/bytes/150000?seed=3";
  std::string m = manifest("plain.yaml", "schema_version: airlock/1\nmodel: {name: plain/model}\nprofiles:\n  - id: 'p1'\n"
                                         "    tags: {device: cpu}\n    workspace:\n      files:\n"
                                         "        data/150000.bin: {uri: '" + url + "'}\n"
                                         "        weights/local.bin: {uri: 'local.bin', sha256: '" + sha256_hex(content(4, 70000)) + "'}\n");
  auto run = airlock({"download-to-cache", "-m", m, "--all", "--cache-dir", cache().string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  Json record = read_json_file(cache() / ".airlock/profiles/p1.json").value();
  for (const auto& file : record["files"]) {
    EXPECT_TRUE(file["cache_path"].get<std::string>().starts_with("files/hub/models--")) << file.dump();
    EXPECT_TRUE(fs::exists(cache() / file["cache_path"].get<std::string>()));
  }
  auto store = airlock({"create-model-store", "-p", "p1", "-m", (dir_ / "store").string(), "--cache-dir", cache().string()});
  ASSERT_EQ(store.exit_code, 0) << store.err;
  EXPECT_EQ(testing::read_text(dir_ / "store/weights/local.bin"), content(4, 70000));
}

TEST_F(DownloadToCache, ABlobSharedByTwoVersionsIsFetchedOnce) {
  std::string license = content(5, 40000);
  ngc_file("nim/meta/tiny", "1.0", "LICENSE.txt", license);
  ngc_file("nim/meta/tiny", "1.1", "LICENSE.txt", license);
  ASSERT_NO_FATAL_FAILURE(start_ngc());
  std::string sha = sha256_hex(license);
  std::string m = manifest("shared.yaml", "schema_version: '2.0.0'\nprofiles:\n  - id: 's1'\n    tags: {gpu: H100}\n"
                                          "    workspace:\n      files:\n"
                                          "        a/LICENSE.txt: {uri: 'ngc://nim/meta/tiny:1.0?file=LICENSE.txt', sha256: '" + sha + "'}\n"
                                          "        b/LICENSE.txt: {uri: 'ngc://nim/meta/tiny:1.1?file=LICENSE.txt', sha256: '" + sha + "'}\n");
  auto run = airlock({"download-to-cache", "-m", m, "--all", "--cache-dir", cache().string(), "-j", "1"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(gets(ngc_, "/cdn/"), 1);
  EXPECT_EQ(fs::read_symlink(cache() / "ngc/hub/models--nim--meta--tiny/snapshots/1.1/LICENSE.txt").string(), "../../blobs/" + sha);
  EXPECT_EQ(testing::read_text(cache() / "ngc/hub/models--nim--meta--tiny/snapshots/1.0/LICENSE.txt"), license);
}

TEST_F(DownloadToCache, HttpsTrustsOnlyWhatItIsToldTo) {
  testing::ServerProcess tls;
  fs::path ca = dir_ / "ca.pem";
  ASSERT_TRUE(tls.start({"python3", (testing::project_root() / "tests/servers/http_test_server.py").string(), "--tls",
                         "--write-ca", ca.string()}))
      << tls.last_output();
  std::string m = manifest("tls.yaml", "schema_version: airlock/1\nmodel: {name: tls/model}\nprofiles:\n  - id: 't1'\n"
                                       "    tags: {device: cpu}\n    workspace:\n      files:\n        w.bin: {uri: 'https://127.0.0.1:" +
                                           std::to_string(tls.port()) + "/bytes/50000?seed=2'}\n");
  std::vector<std::string> args = {"download-to-cache", "-m", m, "--all", "--cache-dir", cache().string()};
  auto untrusted = airlock(args, {{"SSL_CERT_FILE", "\x01unset"}});
  EXPECT_EQ(untrusted.exit_code, 1) << untrusted.err;
  args.push_back("--ca-bundle");
  args.push_back(ca.string());
  auto trusted = airlock(args);
  EXPECT_EQ(trusted.exit_code, 0) << trusted.err;
  fs::remove_all(cache());
  auto insecure = airlock({"download-to-cache", "-m", m, "--all", "--cache-dir", cache().string(), "--insecure"});
  EXPECT_EQ(insecure.exit_code, 0) << insecure.err;
}

}  // namespace
}  // namespace airlock::fetch_test
