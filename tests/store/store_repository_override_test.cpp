// `airlock push --layout nim-repository-override` and `pull --layout nim-repository-override`
// against s3rver, with caches built from the example manifests: every NGC file of the cached
// profiles lands at the key an unmodified NIM reads with NIM_REPOSITORY_OVERRIDE=s3://bucket/
// (the manifest URI minus ngc://, fully percent-encoded), Hugging Face files are left to their
// source, and the pull rebuilds the cache (blobs, snapshot links, refs, profile records),
// verified, and fetches nothing the second time.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>

#include "cache/hub_layout.h"
#include "cache/hub_repo.h"
#include "cache/profile_record.h"
#include "cloud_store_servers.h"
#include "core/hash.h"
#include "fetch/source_uri.h"
#include "profiles/manifest.h"
#include "store_servers.h"
#include "sync/repository_override.h"
#include "testing.h"

namespace airlock::testing {
namespace {
namespace fs = std::filesystem;

constexpr const char* kBucket = "nim-mirror";

TEST(RepositoryOverride, KeysAreTheEncodedSourceUris) {
  // The example of NVIDIA's repository-override documentation.
  auto key = sync::repository_override_key("ngc://nim/meta/llama3-8b-instruct:hf?file=config.json");
  ASSERT_TRUE(key.ok()) << key.error().message();
  EXPECT_EQ(*key, "nim%2Fmeta%2Fllama3-8b-instruct%3Ahf%3Ffile%3Dconfig.json");
  auto back = sync::repository_override_uri(*key);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "ngc://nim/meta/llama3-8b-instruct:hf?file=config.json");
  // '+' in NGC versions and '/' in file paths are encoded too.
  auto plus = sync::repository_override_key(
      "ngc://nim/meta/llama-3.1-8b-instruct:0.12.0+b1a2c3d4-h100x1-fp8-throughput?file=trtllm_engine/rank0.engine");
  ASSERT_TRUE(plus.ok());
  EXPECT_EQ(*plus,
            "nim%2Fmeta%2Fllama-3.1-8b-instruct%3A0.12.0%2Bb1a2c3d4-h100x1-fp8-throughput%3Ffile%3Dtrtllm_engine%"
            "2Frank0.engine");
  EXPECT_FALSE(sync::repository_override_key("hf://BAAI/bge-small-en-v1.5:main?file=config.json").ok());
  EXPECT_FALSE(sync::repository_override_uri(".airlock/index.json").ok());
  EXPECT_FALSE(sync::repository_override_uri("plain-name").ok());
}

// A cache holding `profiles` of `manifest` as download-to-cache leaves it: blobs named like NGC's
// (not by sha256), relative snapshot links, refs, and a record per profile.
std::map<std::string, std::string> build_cache(const fs::path& root, const profiles::Manifest& manifest,
                                               const std::vector<std::size_t>& profiles) {
  const cache::CacheLayout layout(root);
  std::map<std::string, std::string> content_by_uri;
  for (std::size_t index : profiles) {
    const profiles::Profile& profile = manifest.profiles.at(index);
    cache::ProfileRecord record;
    record.id = profile.id;
    record.model = "example";
    record.created_at = cache::utc_timestamp_now();
    for (const auto& file : profile.files) {
      auto ref = fetch::parse_source_uri(file.uri);
      EXPECT_TRUE(ref.ok()) << file.uri;
      if (!ref.ok()) continue;
      cache::RecordedFile recorded;
      recorded.path = file.path;
      recorded.uri = file.uri;
      recorded.snapshot = ref->revision;
      recorded.file = ref->file;
      const bool ngc = ref->kind == fetch::SourceKind::kNgc;
      recorded.repo = cache::RepoId{ngc ? cache::Hub::kNgc : cache::Hub::kHuggingFace, ref->repo};
      std::string& content = content_by_uri[file.uri];
      if (content.empty()) content = "bytes of " + file.uri + "\n" + pattern_bytes(1000 + file.uri.size() * 37, 7);
      recorded.size = content.size();
      recorded.sha256 = sha256_hex(content);
      recorded.blob = recorded.sha256.substr(0, 32) + "-1";  // NGC blob names look like S3 ETags
      EXPECT_TRUE(cache::ensure_hub_dir(layout, recorded.repo.hub).ok());
      const fs::path staged = root / ("staged-" + recorded.blob);
      write_text(staged, content);
      EXPECT_TRUE(cache::install_blob(layout, recorded.repo, staged, recorded.blob).ok());
      EXPECT_TRUE(
          cache::link_snapshot_file(layout, recorded.repo, recorded.snapshot, recorded.file, recorded.blob).ok());
      EXPECT_TRUE(cache::write_ref(layout, recorded.repo, recorded.snapshot, recorded.snapshot).ok());
      record.files.push_back(std::move(recorded));
    }
    EXPECT_TRUE(cache::write_profile_record(layout, record).ok());
  }
  return content_by_uri;
}

class RepositoryOverrideCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    isolate_aws_environment();
    isolate_cloud_environment();
    server_ = new S3rver();
    ASSERT_TRUE(server_->start({kBucket})) << server_->last_output();
  }
  static void TearDownTestSuite() { delete server_; }

  static CommandResult airlock(std::vector<std::string> args) {
    args.insert(args.begin(), airlock_binary().string());
    args.insert(args.end(), {"--endpoint-url", server_->endpoint()});
    return run_command(args, s3_client_env());
  }

  static S3rver* server_;
  TempDir tmp_;
};

S3rver* RepositoryOverrideCli::server_ = nullptr;

TEST_F(RepositoryOverrideCli, PushWritesNimKeysAndPullRebuildsTheCache) {
  auto llama = profiles::load_manifest_file(project_root() / "examples" / "manifests" / "llama-3.1-8b-instruct.yaml");
  ASSERT_TRUE(llama.ok()) << llama.error().message();
  auto rerank =
      profiles::load_manifest_file(project_root() / "examples" / "manifests" / "llama-3.2-nv-rerankqa-1b-v2.yaml");
  ASSERT_TRUE(rerank.ok()) << rerank.error().message();
  auto bge = profiles::load_manifest_file(project_root() / "examples" / "manifests" / "bge-small-en-v1.5.yaml");
  ASSERT_TRUE(bge.ok()) << bge.error().message();
  const fs::path cache_root = tmp_ / "cache";
  auto contents = build_cache(cache_root, *llama, {0, 1});
  for (auto& [uri, content] : build_cache(cache_root, *rerank, {0})) contents[uri] = content;
  std::size_t hf_files = 0;
  for (auto& [uri, content] : build_cache(cache_root, *bge, {0})) {
    contents[uri] = content;
    ++hf_files;
  }
  ASSERT_GT(hf_files, 0u);

  auto pushed = airlock({"push", cache_root.string(), std::string("s3://") + kBucket + "/", "--layout",
                         "nim-repository-override", "--json"});
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  auto summary = parse_json(pushed.out, "push summary");
  ASSERT_TRUE(summary.ok()) << pushed.out;
  EXPECT_EQ((*summary)["index_written"], true);
  EXPECT_EQ((*summary)["skipped"].size(), hf_files) << "Hugging Face files stay with their source: " << pushed.out;

  // Each NGC file at the key NIM asks for, at the bucket root, with its bytes.
  std::size_t ngc_files = 0;
  for (const auto& [uri, content] : contents) {
    if (!uri.starts_with("ngc://")) continue;
    ++ngc_files;
    auto key = sync::repository_override_key(uri);
    ASSERT_TRUE(key.ok());
    const fs::path object = server_->object_file(kBucket, *key);
    ASSERT_TRUE(fs::exists(object)) << uri << " -> " << *key;
    EXPECT_TRUE(read_text(object) == content) << uri;
  }
  EXPECT_TRUE(fs::exists(
      server_->object_file(kBucket, "nim%2Fmeta%2Fllama-3.1-8b-instruct%3Ahf-8c22764-nim1.3b%3Ffile%3Dconfig.json")));
  EXPECT_EQ((*summary)["files"].get<std::size_t>(), ngc_files + 4) << "one object per file, plus 4 records";

  // Pushed again: nothing to upload.
  auto again = airlock({"push", cache_root.string(), std::string("s3://") + kBucket + "/", "--layout",
                        "nim-repository-override", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(parse_json(again.out, "again")->at("uploaded_files"), 0) << again.out;

  // Pulled into an empty cache: the hub layout with the records' blob names, and the records.
  const fs::path restored = tmp_ / "restored";
  auto pulled = airlock({"pull", std::string("s3://") + kBucket + "/", restored.string(), "--layout",
                         "nim-repository-override", "--json"});
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  auto pull_summary = parse_json(pulled.out, "pull summary");
  ASSERT_TRUE(pull_summary.ok()) << pulled.out;
  EXPECT_EQ((*pull_summary)["verified"], true);
  const cache::CacheLayout layout(restored);
  for (const auto& id : {llama->profiles[0].id, llama->profiles[1].id, rerank->profiles[0].id}) {
    auto record = cache::read_profile_record(layout, id);
    ASSERT_TRUE(record.ok()) << id << ": " << record.error().message();
    for (const auto& file : record->files) {
      auto path = cache::recorded_file_path(layout, file);
      ASSERT_TRUE(path.ok());
      ASSERT_TRUE(fs::is_symlink(*path)) << path->string();
      EXPECT_EQ(fs::read_symlink(*path).filename().string(), file.blob) << "the blob keeps its NGC name";
      EXPECT_TRUE(read_text(*path) == contents[file.uri]) << file.uri;
    }
  }
  EXPECT_FALSE(cache::read_profile_record(layout, bge->profiles[0].id).ok())
      << "a profile whose files did not come along is not recorded as complete";
  EXPECT_FALSE(fs::exists(layout.airlock_dir() / "staging" / "x")) << "staging is cleaned up";

  // Pulled again: every file is already in the cache, checked, not fetched; only the record of
  // the Hugging Face profile comes again (it was not installed: its files stay with their source).
  auto repull = airlock({"pull", std::string("s3://") + kBucket + "/", restored.string(), "--layout",
                         "nim-repository-override", "--json"});
  ASSERT_EQ(repull.exit_code, 0) << repull.err;
  auto repull_summary = parse_json(repull.out, "repull");
  ASSERT_TRUE(repull_summary.ok());
  EXPECT_EQ((*repull_summary)["fetched_files"], 1) << repull.out;
  EXPECT_EQ((*repull_summary)["up_to_date_files"].get<std::size_t>(), ngc_files + 3) << repull.out;
}

TEST_F(RepositoryOverrideCli, CacheWithoutProfilesSaysWhatToDo) {
  fs::create_directories(tmp_ / "empty");
  auto pushed = airlock({"push", (tmp_ / "empty").string(), std::string("s3://") + kBucket + "/none/", "--layout",
                         "nim-repository-override"});
  EXPECT_NE(pushed.exit_code, 0);
  EXPECT_NE(pushed.err.find("download-to-cache"), std::string::npos) << pushed.err;
}

}  // namespace
}  // namespace airlock::testing
