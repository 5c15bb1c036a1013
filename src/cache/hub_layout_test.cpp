#include "cache/hub_layout.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "testing.h"

namespace airlock::cache {
namespace {

TEST(HubLayout, FolderNamesFollowTheHubRule) {
  EXPECT_EQ(repo_folder_name({Hub::kNgc, "nim/meta/llama-3_1-8b-instruct"}), "models--nim--meta--llama-3_1-8b-instruct");
  EXPECT_EQ(repo_folder_name({Hub::kHuggingFace, "BAAI/bge-small-en-v1.5"}), "models--BAAI--bge-small-en-v1.5");
  EXPECT_EQ(repo_folder_name({Hub::kHuggingFace, "gpt2"}), "models--gpt2");
  auto parsed = parse_repo_folder_name(Hub::kNgc, "models--nim--meta--llama-3_1-8b-instruct");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->name, "nim/meta/llama-3_1-8b-instruct");
  EXPECT_FALSE(parse_repo_folder_name(Hub::kHuggingFace, "datasets--a--b").ok());
  EXPECT_FALSE(parse_repo_folder_name(Hub::kHuggingFace, "models--a--..").ok());
  EXPECT_FALSE(parse_repo_folder_name(Hub::kHuggingFace, "models--").ok());
}

TEST(HubLayout, RejectsHostileNames) {
  for (const char* bad : {"", "../x", "a/../b", "a//b", "/abs", "a/b/c/d", "a--b/c", "a/b c", "-a/b", "a/.", "a\\b"}) {
    EXPECT_FALSE(validate_repo_name(Hub::kHuggingFace, bad).ok()) << bad;
  }
  for (const char* bad : {"", "a/b", "..", "../blobs", "x y", ".hidden"}) EXPECT_FALSE(validate_blob_name(bad).ok()) << bad;
  EXPECT_TRUE(validate_blob_name("3e710a79e58ddecbe63a8dffa7464658-3091").ok());
  for (const char* bad : {"", "..", "a/b", "."}) EXPECT_FALSE(validate_snapshot_name(bad).ok()) << bad;
  EXPECT_TRUE(validate_snapshot_name("0.11.1+ba20956e-l40sx1-bf16-throughput.1.1.0.17088220").ok());
  EXPECT_TRUE(validate_ref_name("refs/pr/1").ok());
  EXPECT_FALSE(validate_ref_name("../main").ok());
  EXPECT_FALSE(validate_profile_id("../../etc/passwd").ok());
  EXPECT_TRUE(validate_profile_id("5c389088d9fcdc9a92246dcf0afcfeabc73e1a12cef7515138d051de3b71af2a").ok());
}

TEST(HubLayout, PathsAndDisplayForms) {
  CacheLayout layout("/c");
  RepoId ngc{Hub::kNgc, "nim/meta/m"};
  RepoId hf{Hub::kHuggingFace, "org/name"};
  EXPECT_EQ(layout.repo_dir(ngc), "/c/ngc/hub/models--nim--meta--m");
  EXPECT_EQ(layout.blob_path(hf, "abc"), "/c/huggingface/hub/models--org--name/blobs/abc");
  EXPECT_EQ(layout.lock_path(hf, "abc"), "/c/huggingface/hub/.locks/models--org--name/abc.lock");
  EXPECT_EQ(layout.incomplete_path(hf, "abc"), "/c/huggingface/hub/models--org--name/blobs/abc.incomplete");
  EXPECT_EQ(layout.incomplete_path(ngc, "k"), "/c/ngc/hub/tmp/models--nim--meta--m--k.incomplete");
  EXPECT_EQ(layout.profile_record_path("abc"), "/c/.airlock/profiles/abc.json");
  EXPECT_EQ(ngc.display(), "ngc:nim/meta/m");
  EXPECT_EQ(hf.display(), "hf:org/name");
  auto parsed = parse_repo_display("hf:org/name");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, hf);
  EXPECT_FALSE(parse_repo_display("s3:x/y").ok());
}

TEST(HubLayout, SnapshotFileRefusesEscapes) {
  testing::TempDir dir;
  CacheLayout layout(dir.path());
  RepoId repo{Hub::kHuggingFace, "org/name"};
  EXPECT_TRUE(layout.snapshot_file(repo, "abc", "a/b.bin").ok());
  EXPECT_FALSE(layout.snapshot_file(repo, "abc", "../../x").ok());
  EXPECT_FALSE(layout.snapshot_file(repo, "abc", "/etc/passwd").ok());
  EXPECT_FALSE(layout.snapshot_file(repo, "..", "x").ok());
  // A planted symlink inside the cache that leads out of it.
  std::filesystem::create_directories(layout.snapshots_dir(repo));
  testing::TempDir outside;
  std::filesystem::create_directory_symlink(outside.path(), layout.snapshots_dir(repo) / "evil");
  auto escaped = layout.snapshot_file(repo, "evil", "x.bin");
  ASSERT_FALSE(escaped.ok());
  EXPECT_NE(escaped.error().message().find("outside"), std::string::npos) << escaped.error().message();
}

TEST(HubLayout, HuggingFaceHubGetsCacheDirTag) {
  testing::TempDir dir;
  CacheLayout layout(dir.path());
  ASSERT_TRUE(ensure_hub_dir(layout, Hub::kHuggingFace).ok());
  std::string tag = testing::read_text(layout.hub_dir(Hub::kHuggingFace) / "CACHEDIR.TAG");
  EXPECT_TRUE(tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55\n"));
  ASSERT_TRUE(ensure_hub_dir(layout, Hub::kNgc).ok());
  EXPECT_FALSE(std::filesystem::exists(layout.hub_dir(Hub::kNgc) / "CACHEDIR.TAG"));
}

}  // namespace
}  // namespace airlock::cache
