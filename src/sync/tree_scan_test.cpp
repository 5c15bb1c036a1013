#include "sync/tree_scan.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "testing.h"

namespace airlock::sync {
namespace {
namespace fs = std::filesystem;
using testing::TempDir;
using testing::write_text;

const IndexEntry* find(const ScanResult& scan, const std::string& path) {
  for (const auto& local : scan.entries) {
    if (local.entry.path == path) return &local.entry;
  }
  return nullptr;
}

TEST(SyncTreeScan, RecordsRelativeSymlinksAndSkipsOwnTemporaryFiles) {
  TempDir tmp;
  const fs::path root = tmp / "cache";
  fs::create_directories(root / "m/blobs");
  fs::create_directories(root / "m/snapshots/r");
  write_text(root / "m/blobs/b", "bytes");
  fs::create_symlink("../../blobs/b", root / "m/snapshots/r/w.bin");
  // An absolute link into the tree is kept as the relative link it stands for.
  fs::create_symlink(fs::canonical(root) / "m/blobs/b", root / "m/snapshots/r/abs.bin");
  write_text(root / "m/blobs/.b.airlock-partial", "half");
  write_text(root / "m/blobs/.c.airlock-tmp.1.2", "tmp");
  fs::create_directories(root / ".airlock");
  write_text(root / ".airlock/index.json", "{}");
  auto scan = scan_tree(root, {});
  ASSERT_TRUE(scan.ok()) << scan.error().message();
  ASSERT_EQ(scan->entries.size(), 3u);
  EXPECT_EQ(find(*scan, "m/blobs/b")->size, 5u);
  EXPECT_EQ(find(*scan, "m/snapshots/r/w.bin")->target, "../../blobs/b");
  EXPECT_EQ(find(*scan, "m/snapshots/r/abs.bin")->target, "../../blobs/b");
  EXPECT_EQ(scan->skipped.size(), 1u) << "the old index is reported as skipped";
}

TEST(SyncTreeScan, LeavesOutThisMachinesLocksAndStagingButKeepsProfileRecords) {
  TempDir tmp;
  const fs::path root = tmp / "cache";
  fs::create_directories(root / ".airlock/profiles");
  fs::create_directories(root / ".airlock/staging/repository-override-1");
  write_text(root / ".airlock/cache.lock", "");
  write_text(root / ".airlock/pull.lock", "");
  write_text(root / ".airlock/staging/repository-override-1/x", "x");
  write_text(root / ".airlock/profiles/p1.json", "{}");
  fs::create_directories(root / "m");
  write_text(root / "m/model.lock", "a file of the model that happens to end in .lock");
  auto scan = scan_tree(root, {});
  ASSERT_TRUE(scan.ok()) << scan.error().message();
  ASSERT_EQ(scan->entries.size(), 2u);
  EXPECT_NE(find(*scan, ".airlock/profiles/p1.json"), nullptr);
  EXPECT_NE(find(*scan, "m/model.lock"), nullptr);
  EXPECT_EQ(scan->skipped.size(), 3u);
}

TEST(SyncTreeScan, LinksLeavingTheTreeNeedFollowSymlinks) {
  TempDir tmp;
  const fs::path root = tmp / "cache";
  fs::create_directories(root / "d");
  fs::create_directories(tmp / "outside");
  write_text(tmp / "outside" / "data.bin", "outside");
  fs::create_symlink("../../outside/data.bin", root / "d/link.bin");
  auto refused = scan_tree(root, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("--follow-symlinks"), std::string::npos) << refused.error().message();
  ScanOptions follow;
  follow.follow_symlinks = true;
  auto copied = scan_tree(root, follow);
  ASSERT_TRUE(copied.ok()) << copied.error().message();
  ASSERT_EQ(copied->entries.size(), 1u);
  EXPECT_EQ(copied->entries[0].entry.type, EntryType::kFile);
  EXPECT_EQ(copied->entries[0].entry.size, 7u);
  // A broken link cannot be copied.
  fs::create_symlink("missing", root / "d/broken");
  EXPECT_FALSE(scan_tree(root, follow).ok());
}

TEST(SyncTreeScan, FollowingALoopStops) {
  TempDir tmp;
  const fs::path root = tmp / "cache";
  fs::create_directories(root / "a");
  fs::create_directory_symlink("..", root / "a/up");
  ScanOptions follow;
  follow.follow_symlinks = true;
  auto scan = scan_tree(root, follow);
  ASSERT_FALSE(scan.ok());
  EXPECT_NE(scan.error().message().find("loop"), std::string::npos) << scan.error().message();
}

}  // namespace
}  // namespace airlock::sync
