// The conformance suite on a local directory (file:// and plain paths), and what only a file
// store can hold: real symlinks in a tree without an index.
#include <gtest/gtest.h>

#include <filesystem>

#include "store/file_store.h"
#include "store/store_factory.h"
#include "store_conformance.h"
#include "store_servers.h"
#include "sync/pull.h"
#include "testing.h"

namespace airlock::testing {
namespace {
namespace fs = std::filesystem;

class FileBackend final : public ConformanceBackend {
 public:
  std::string name() const override { return "file"; }
  std::unique_ptr<store::Store> open(const std::string& prefix) override {
    return std::make_unique<store::FileStore>(root_.path() / prefix);
  }
  std::unique_ptr<store::Store> open_with_wrong_credentials(const std::string&) override { return nullptr; }

 private:
  TempDir root_;
};

ConformanceBackend& file_backend() {
  static FileBackend backend;
  return backend;
}

INSTANTIATE_TEST_SUITE_P(File, StoreConformance, ::testing::Values(BackendMaker{"file", file_backend}),
                         [](const auto& param_info) { return param_info.param.name; });

sync::PullOptions quiet() {
  sync::PullOptions options;
  options.progress.style = ProgressStyle::kQuiet;
  return options;
}

TEST(FileStore, FileUrisAndPlainPathsOpenTheSameDirectory) {
  TempDir tmp;
  fs::create_directories(tmp / "store");
  write_text(tmp / "store" / "a.txt", "a");
  for (const std::string& uri : {(tmp / "store").string(), "file://" + (tmp / "store").string()}) {
    auto opened = store::open_store(uri, {});
    ASSERT_TRUE(opened.ok()) << opened.error().message();
    auto info = (*opened)->stat("a.txt");
    ASSERT_TRUE(info.ok() && info->has_value()) << uri;
  }
}

TEST(FileStore, KeysCannotLeaveTheRoot) {
  TempDir tmp;
  store::FileStore s(tmp / "root");
  EXPECT_FALSE(s.write_string("../escape.txt", "x").ok());
  EXPECT_FALSE(s.write_string("/etc/escape.txt", "x").ok());
  EXPECT_FALSE(fs::exists(tmp / "escape.txt"));
  // A symlink inside the store that points outside is not followed.
  fs::create_directories(tmp / "root");
  fs::create_directories(tmp / "outside");
  write_text(tmp / "outside" / "secret", "secret");
  fs::create_directory_symlink(tmp / "outside", tmp / "root" / "door");
  EXPECT_FALSE(s.read_to_string("door/secret", 100).ok());
  EXPECT_FALSE(s.write_string("door/planted", "x").ok());
  EXPECT_FALSE(fs::exists(tmp / "outside" / "planted"));
}

TEST(FileStore, PlainTreeKeepsItsSymlinksAndRejectsEscapingOnes) {
  TempDir tmp;
  const fs::path tree = tmp / "tree";
  fs::create_directories(tree / "blobs");
  fs::create_directories(tree / "snap");
  write_text(tree / "blobs" / "b1", "weights");
  fs::create_symlink("../blobs/b1", tree / "snap" / "model.bin");
  store::FileStore s(tree);
  auto pulled = sync::pull(s, tmp / "dst", quiet());
  ASSERT_TRUE(pulled.ok()) << pulled.error().message();
  EXPECT_FALSE(pulled->indexed);
  EXPECT_FALSE(pulled->verified);
  EXPECT_TRUE(fs::is_symlink(tmp / "dst" / "snap" / "model.bin"));
  EXPECT_EQ(read_text(tmp / "dst" / "snap" / "model.bin"), "weights");

  // The same tree with a link that leaves it: rejected before anything is written.
  fs::create_symlink("../../etc/passwd", tree / "snap" / "evil");
  auto hostile = sync::pull(s, tmp / "dst2", quiet());
  ASSERT_FALSE(hostile.ok());
  EXPECT_NE(hostile.error().message().find("snap/evil"), std::string::npos) << hostile.error().message();
  EXPECT_FALSE(fs::exists(tmp / "dst2" / "blobs"));
}

}  // namespace
}  // namespace airlock::testing
