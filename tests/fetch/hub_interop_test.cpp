// The cache as Hugging Face's own JavaScript library (@huggingface/hub, npm) reads and writes it:
// its scanner and its offline snapshot resolution read what airlock wrote, and airlock uses a
// cache that the library wrote from the same hub without downloading anything again.
#include "core/hash.h"
#include "fetch_fixture.h"

namespace airlock::fetch_test {
namespace {

class HubInterop : public FetchTest {
 protected:
  void SetUp() override {
    FetchTest::SetUp();
    auto node = testing::run_command({"node", "--version"});
    if (node.exit_code != 0 || !fs::exists(testing::project_root() / "node_modules/@huggingface/hub/package.json")) {
      GTEST_SKIP() << "node or npm @huggingface/hub is not installed (scripts/setup installs them): interop not checked";
    }
    hf_file("org/tiny", "config.json", "{\"hidden_size\": 8}\n");
    hf_file("org/tiny", "tokenizer.json", content(1, 5000));
    hf_file("org/tiny", "1_Pooling/config.json", "{\"pooling\": \"mean\"}\n");
    hf_file("org/tiny", "model.safetensors", content(2, 2'000'000));
    manifest_ = manifest("hf.yaml", R"(schema_version: airlock/1
model: {name: org/tiny}
profiles:
  - id: 'e1'
    tags: {device: cpu}
    workspace:
      files:
        config.json: {uri: 'hf://org/tiny?file=config.json'}
        tokenizer.json: {uri: 'hf://org/tiny?file=tokenizer.json'}
        1_Pooling/config.json: {uri: 'hf://org/tiny?file=1_Pooling/config.json'}
        model.safetensors: {uri: 'hf://org/tiny?file=model.safetensors'}
)");
    ASSERT_NO_FATAL_FAILURE(start_hf());
  }

  Json node(std::vector<std::string> args) {
    args.insert(args.begin(), (testing::project_root() / "tests/fetch/hf_interop.mjs").string());
    args.insert(args.begin(), "node");
    auto result = testing::run_command(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    // The library logs to stdout too: the answer is the last line.
    std::string out = result.out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    auto json = parse_json(out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1), "node");
    EXPECT_TRUE(json.ok()) << result.out << result.err;
    return json.ok() ? *json : Json::object();
  }

  fs::path hub() const { return cache() / "huggingface/hub"; }
  std::string manifest_;
};

TEST_F(HubInterop, HubLibraryReadsWhatAirlockWrote) {
  auto run = airlock({"download-to-cache", "-m", manifest_, "--all", "--cache-dir", cache().string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  Json scan = node({"scan", hub().string()});
  EXPECT_TRUE(scan["warnings"].empty()) << scan.dump();
  ASSERT_EQ(scan["repos"].size(), 1u) << scan.dump();
  const Json& repo = scan["repos"][0];
  EXPECT_EQ(repo["name"], "org/tiny");
  EXPECT_EQ(repo["type"], "model");
  ASSERT_EQ(repo["revisions"].size(), 1u);
  const Json& revision = repo["revisions"][0];
  EXPECT_EQ(revision["refs"], Json::array({"main"}));
  std::string commit = revision["commitOid"];
  // scanCacheDir lists a snapshot's top-level files.
  std::map<std::string, std::uint64_t> sizes;
  for (const auto& file : revision["files"]) sizes[file["name"]] = file["size"];
  EXPECT_EQ(sizes, (std::map<std::string, std::uint64_t>{{"config.json", 19}, {"model.safetensors", 2'000'000}, {"tokenizer.json", 5000}}));
  // Offline resolution of every file, nested ones included, by the library.
  for (const auto& [path, data] : std::vector<std::pair<std::string, std::string>>{
           {"model.safetensors", content(2, 2'000'000)}, {"1_Pooling/config.json", "{\"pooling\": \"mean\"}\n"}}) {
    Json resolved = node({"resolve", hub().string(), "org/tiny", commit, path});
    EXPECT_EQ(resolved["sha256"], sha256_hex(data)) << path;
    EXPECT_EQ(resolved["pointer"], (hub() / "models--org--tiny/snapshots" / commit / path).string());
  }
}

TEST_F(HubInterop, AirlockUsesACacheTheHubLibraryWrote) {
  Json snapshot = node({"snapshot", hub().string(), "http://127.0.0.1:" + std::to_string(hf_.port()), "org/tiny"});
  ASSERT_TRUE(snapshot.contains("folder")) << snapshot.dump();
  reset_stats(hf_);
  auto run = airlock({"download-to-cache", "-m", manifest_, "--all", "--cache-dir", cache().string(), "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  Json summary = parse_json(run.out, "summary").value();
  EXPECT_EQ(summary["cached"], 4);
  EXPECT_EQ(summary["bytes_downloaded"], 0);
  EXPECT_EQ(gets(hf_, "/resolve/"), 0);
  EXPECT_EQ(gets(hf_, "/cdn/"), 0);
  EXPECT_NE(run.err.find("File: model.safetensors found in cache"), std::string::npos) << run.err;
  Json record = read_json_file(cache() / ".airlock/profiles/e1.json").value();
  for (const auto& file : record["files"]) {
    std::string expected = file["path"] == "tokenizer.json"      ? sha256_hex(content(1, 5000))
                           : file["path"] == "model.safetensors" ? sha256_hex(content(2, 2'000'000))
                                                                 : file["sha256"].get<std::string>();
    EXPECT_EQ(file["sha256"], expected) << file.dump();
  }
  EXPECT_EQ(airlock({"cache", "verify", "--cache-dir", cache().string()}).exit_code, 0);
}

}  // namespace
}  // namespace airlock::fetch_test
