#include "cache/hub_repo.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/hash.h"
#include "testing.h"

namespace airlock::cache {
namespace {
namespace fs = std::filesystem;

TEST(HubRepo, BlobsSymlinksAndRefsAsHubToolsExpect) {
  testing::TempDir dir;
  CacheLayout layout(dir.path());
  RepoId repo{Hub::kHuggingFace, "org/name"};
  std::string commit(40, 'c');
  std::string content = "hello";
  std::string blob = sha256_hex(content);
  testing::write_text(dir / "staged", content);
  ASSERT_TRUE(install_blob(layout, repo, dir / "staged", blob).ok());
  EXPECT_FALSE(fs::exists(dir / "staged"));
  ASSERT_TRUE(link_snapshot_file(layout, repo, commit, "config.json", blob).ok());
  ASSERT_TRUE(link_snapshot_file(layout, repo, commit, "a/b/weights.bin", blob).ok());
  EXPECT_EQ(fs::read_symlink(layout.snapshot_dir(repo, commit) / "config.json").string(), "../../blobs/" + blob);
  EXPECT_EQ(fs::read_symlink(layout.snapshot_dir(repo, commit) / "a/b/weights.bin").string(), "../../../../blobs/" + blob);
  EXPECT_EQ(testing::read_text(layout.snapshot_dir(repo, commit) / "a/b/weights.bin"), content);

  ASSERT_TRUE(write_ref(layout, repo, "main", commit).ok());
  EXPECT_EQ(testing::read_text(layout.ref_path(repo, "main")), commit);  // no trailing newline
  ASSERT_TRUE(write_ref(layout, repo, "refs/pr/1", commit).ok());
  EXPECT_TRUE(fs::is_regular_file(layout.refs_dir(repo) / "refs" / "pr" / "1"));
  EXPECT_FALSE(write_ref(layout, repo, "../x", commit).ok());

  auto resolved = resolve_revision(layout, repo, "main");
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->value_or(""), commit);
  EXPECT_FALSE(resolve_revision(layout, repo, "dev")->has_value());
  std::string other(40, 'd');
  EXPECT_EQ(resolve_revision(layout, repo, other)->value_or(""), other);

  auto entry = read_snapshot_entry(layout, repo, commit, "a/b/weights.bin");
  ASSERT_TRUE(entry.ok());
  ASSERT_TRUE(entry->has_value());
  EXPECT_EQ((*entry)->blob.value_or(""), blob);
  EXPECT_TRUE((*entry)->present);
  EXPECT_EQ((*entry)->size, content.size());
  EXPECT_FALSE(read_snapshot_entry(layout, repo, commit, "absent")->has_value());

  auto files = list_snapshot_files(layout, repo, commit);
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(*files, (std::vector<std::string>{"a/b/weights.bin", "config.json"}));
}

TEST(HubRepo, ReadsRefsWrittenWithANewlineByOthers) {
  testing::TempDir dir;
  CacheLayout layout(dir.path());
  RepoId repo{Hub::kHuggingFace, "org/name"};
  fs::create_directories(layout.refs_dir(repo));
  testing::write_text(layout.ref_path(repo, "main"), std::string(40, 'e') + "\n");
  EXPECT_EQ(read_ref(layout, repo, "main")->value_or(""), std::string(40, 'e'));
}

TEST(HubRepo, InstallKeepsAnExistingBlobAndRelinksChangedEntries) {
  testing::TempDir dir;
  CacheLayout layout(dir.path());
  RepoId repo{Hub::kNgc, "nim/team/model"};
  testing::write_text(dir / "one", "same");
  testing::write_text(dir / "two", "same");
  ASSERT_TRUE(install_blob(layout, repo, dir / "one", "b1").ok());
  ASSERT_TRUE(install_blob(layout, repo, dir / "two", "b1").ok());
  EXPECT_FALSE(fs::exists(dir / "two"));
  testing::write_text(dir / "three", "other");
  ASSERT_TRUE(install_blob(layout, repo, dir / "three", "b2").ok());
  ASSERT_TRUE(link_snapshot_file(layout, repo, "1.0+x", "f", "b1").ok());
  ASSERT_TRUE(link_snapshot_file(layout, repo, "1.0+x", "f", "b2").ok());
  EXPECT_EQ(testing::read_text(layout.snapshot_dir(repo, "1.0+x") / "f"), "other");
  EXPECT_FALSE(install_blob(layout, repo, dir / "missing", "../evil").ok());
}

TEST(HubRepo, SnapshotLinksOutsideTheRepoAreRefused) {
  testing::TempDir dir;
  CacheLayout layout(dir.path());
  RepoId repo{Hub::kHuggingFace, "org/name"};
  fs::path snap = layout.snapshot_dir(repo, "abc");
  fs::create_directories(snap);
  fs::create_symlink("/etc/passwd", snap / "abs");
  fs::create_symlink("../../../../outside", snap / "rel");
  fs::create_symlink("../../blobs/../refs/main", snap / "sideways");
  for (const char* name : {"abs", "rel", "sideways"}) {
    auto entry = read_snapshot_entry(layout, repo, "abc", name);
    EXPECT_FALSE(entry.ok()) << name;
  }
  // A dangling link into blobs/ is an entry whose bytes are missing.
  fs::create_symlink("../../blobs/gone", snap / "dangling");
  auto entry = read_snapshot_entry(layout, repo, "abc", "dangling");
  ASSERT_TRUE(entry.ok());
  ASSERT_TRUE(entry->has_value());
  EXPECT_FALSE((*entry)->present);
}

}  // namespace
}  // namespace airlock::cache
