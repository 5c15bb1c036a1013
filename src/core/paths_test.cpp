#include "core/paths.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "testing.h"

namespace airlock {
namespace {
namespace fs = std::filesystem;

TEST(Paths, ValidatesRelativePaths) {
  EXPECT_TRUE(validate_relative_path("config.json", "file").ok());
  EXPECT_TRUE(validate_relative_path("trtllm_engine/rank0.engine", "file").ok());
  EXPECT_TRUE(validate_relative_path("..hidden/x..y", "file").ok());
  for (const char* bad : {"", "/etc/passwd", "../x", "a/../../b", "a//b", "a/", "./a", "a\\b", "a/./b"}) {
    auto status = validate_relative_path(bad, "manifest file path");
    EXPECT_FALSE(status.ok()) << bad;
    if (!status.ok()) {
      EXPECT_NE(status.error().message().find("manifest file path"), std::string::npos);
    }
  }
  EXPECT_FALSE(validate_relative_path(std::string("a\0b", 3), "file").ok());
  EXPECT_FALSE(validate_relative_path(std::string(256, 'x'), "file").ok());
}

TEST(Paths, SafeJoinRejectsSymlinkEscapes) {
  testing::TempDir dir;
  fs::create_directories(dir / "tree/inside");
  fs::create_directories(dir / "outside");
  fs::create_directory_symlink(dir / "outside", dir / "tree/evil");
  fs::create_directory_symlink("inside", dir / "tree/good");
  auto ok = safe_join(dir / "tree", "good/file.bin", "entry");
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ(*ok, dir / "tree/good/file.bin");
  auto bad = safe_join(dir / "tree", "evil/file.bin", "entry");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("outside"), std::string::npos);
  EXPECT_TRUE(safe_join(dir / "tree", "new/dir/file", "entry").ok());
  EXPECT_FALSE(safe_join(dir / "tree", "../outside/x", "entry").ok());
}

TEST(Paths, SymlinkTargets) {
  EXPECT_TRUE(symlink_target_stays_inside("m/snapshots/rev/config.json", "../../blobs/abc"));
  EXPECT_TRUE(symlink_target_stays_inside("m/snapshots/rev/sub/x", "../../../blobs/abc"));
  EXPECT_FALSE(symlink_target_stays_inside("m/snapshots/rev/config.json", "../../../../etc/passwd"));
  EXPECT_FALSE(symlink_target_stays_inside("a", "/etc/passwd"));
  EXPECT_FALSE(symlink_target_stays_inside("a/b", ".."));
  EXPECT_FALSE(symlink_target_stays_inside("a", ""));
}

TEST(Paths, RelativeLinkTargets) {
  EXPECT_EQ(relative_link_target("m/snapshots/rev", "m/blobs/x"), "../../blobs/x");
  EXPECT_EQ(relative_link_target("m/snapshots/rev/sub", "m/blobs/x"), "../../../blobs/x");
  EXPECT_EQ(relative_link_target("a", "a/b"), "b");
  EXPECT_EQ(*normalize_relative("a/./b/../c"), "a/c");
  EXPECT_FALSE(normalize_relative("a/../../b").ok());
}

TEST(Paths, DefaultCacheRootOrder) {
  ::setenv("AIRLOCK_CACHE", "/a", 1);
  ::setenv("NIM_CACHE_PATH", "/b", 1);
  EXPECT_EQ(default_cache_root(), fs::path("/a"));
  ::unsetenv("AIRLOCK_CACHE");
  EXPECT_EQ(default_cache_root(), fs::path("/b"));
  ::unsetenv("NIM_CACHE_PATH");
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(default_cache_root(), fs::path("/home/u/.cache/airlock"));
}

}  // namespace
}  // namespace airlock
