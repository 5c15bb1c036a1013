// `airlock bundle` / `unbundle`: a cache on removable media as one tar (zstd optional) with its
// index inside, read by GNU tar as an ordinary archive, verified on the way back in.
#include <gtest/gtest.h>

#include <filesystem>

#include "sync_cli.h"

namespace airlock::testing {
namespace {
namespace fs = std::filesystem;

const fs::path kRepo = "huggingface/hub/models--org--model";

TEST(SyncBundle, RoundTripPlainAndZstd) {
  TempDir tmp;
  make_cache(tmp / "cache", 700 * 1024);
  for (const std::string name : {"cache.tar", "cache.tar.zst"}) {
    SCOPED_TRACE(name);
    auto bundled = airlock({"bundle", (tmp / "cache").string(), (tmp / name).string(), "--json"});
    ASSERT_EQ(bundled.exit_code, 0) << bundled.err;
    Json summary = json_of(bundled);
    EXPECT_EQ(summary["files"], 5);
    EXPECT_EQ(summary["symlinks"], 5);
    const fs::path dest = tmp / ("out-" + name);
    auto unbundled = airlock({"unbundle", (tmp / name).string(), dest.string(), "--json"});
    ASSERT_EQ(unbundled.exit_code, 0) << unbundled.err;
    EXPECT_EQ(json_of(unbundled)["verified"], true);
    EXPECT_EQ(sha_of_file(dest / kRepo / "snapshots/abc123/model.safetensors"),
              sha_of_file(tmp / "cache" / kRepo / "blobs/big"));
    EXPECT_EQ(fs::read_symlink(dest / kRepo / "snapshots/abc123/small1.json").string(), "../../blobs/small1");
  }
  // GNU tar reads it as an ordinary archive, symlinks and index included.
  auto listed = run_command({"tar", "-tvf", (tmp / "cache.tar").string()});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find(".airlock/index.json"), std::string::npos);
  EXPECT_NE(listed.out.find("model.safetensors -> ../../blobs/big"), std::string::npos) << listed.out;
}

TEST(SyncBundle, CorruptBundleIsRefused) {
  TempDir tmp;
  make_cache(tmp / "cache", 300 * 1024, 1);
  ASSERT_EQ(airlock({"bundle", (tmp / "cache").string(), (tmp / "c.tar").string()}).exit_code, 0);
  std::string bytes = read_text(tmp / "c.tar");
  // Flip a byte inside the big blob's data (it is the only 300 KiB stretch of pattern bytes).
  const std::string blob = pattern_bytes(300 * 1024, 42);
  auto at = bytes.find(blob.substr(1000, 64));
  ASSERT_NE(at, std::string::npos);
  bytes[at + 10] = static_cast<char>(bytes[at + 10] ^ 0x01);
  write_text(tmp / "c.tar", bytes);
  auto refused = airlock({"unbundle", (tmp / "c.tar").string(), (tmp / "dst").string()});
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_NE(refused.err.find("blobs/big"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(tmp / "dst" / kRepo / "blobs/big"));
  EXPECT_FALSE(fs::exists(tmp / "dst" / kRepo / "refs/main")) << "all or nothing";
}

TEST(SyncBundle, RefusesToBundleIntoItself) {
  TempDir tmp;
  make_cache(tmp / "cache", 100, 1);
  write_text(tmp / "cache" / "self.tar", "old");
  auto refused = airlock({"bundle", (tmp / "cache").string(), (tmp / "cache" / "self.tar").string()});
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
}

}  // namespace
}  // namespace airlock::testing
