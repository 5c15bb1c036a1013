#include "sync/index.h"

#include <gtest/gtest.h>

#include <string>

namespace airlock::sync {
namespace {

const std::string kSha(64, 'a');

std::string doc(const std::string& entries) {
  return R"({"format": "airlock-store/1", "entries": [)" + entries + "]}";
}

std::string file(const std::string& path, int size = 3) {
  return R"({"path": ")" + path + R"(", "type": "file", "size": )" + std::to_string(size) + R"(, "sha256": ")" + kSha +
         R"("})";
}

std::string link(const std::string& path, const std::string& target) {
  return R"({"path": ")" + path + R"(", "type": "symlink", "target": ")" + target + R"("})";
}

TEST(StoreIndex, RoundTripsAHubTree) {
  StoreIndex index;
  index.entries.push_back({"hub/models--a--b/blobs/ab12", EntryType::kFile, 123, kSha, ""});
  index.entries.push_back(
      {"hub/models--a--b/snapshots/r1/sub/config.json", EntryType::kSymlink, 0, "", "../../../blobs/ab12"});
  index.entries.push_back({"hub/models--a--b/refs/main", EntryType::kFile, 0, std::string(64, 'b'), ""});
  std::string text = serialize_index(index);
  auto parsed = parse_index(text, "test");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(parsed->entries.size(), 3u);
  EXPECT_EQ(parsed->entries[0].path, "hub/models--a--b/blobs/ab12");
  EXPECT_EQ(parsed->entries[2].target, "../../../blobs/ab12");
  EXPECT_EQ(parsed->file_bytes(), 123u);
  EXPECT_EQ(parsed->symlink_count(), 1u);
  EXPECT_EQ(serialize_index(*parsed), text);
}

TEST(StoreIndex, RejectsHostilePaths) {
  for (const char* bad : {"../etc/passwd", "/etc/passwd", "a/../../b", "a//b", "a/./b", "a\\\\b", ""}) {
    auto parsed = parse_index(doc(file(std::string(bad))), "test");
    EXPECT_FALSE(parsed.ok()) << bad;
  }
}

TEST(StoreIndex, RejectsSymlinksLeavingTheTree) {
  EXPECT_FALSE(parse_index(doc(link("a/l", "../../x")), "t").ok());
  EXPECT_FALSE(parse_index(doc(link("l", "/etc/passwd")), "t").ok());
  EXPECT_FALSE(parse_index(doc(link("l", "..")), "t").ok());
  EXPECT_FALSE(parse_index(doc(link("l", ".")), "t").ok()) << "a link to the root makes a loop";
  EXPECT_TRUE(parse_index(doc(link("a/l", "../x")), "t").ok());
}

TEST(StoreIndex, RejectsEscapesThroughOtherSymlinks) {
  // p/q/d resolves to "a" (one level deep); p/q/x goes d/../../z: lexically p/z, really ../z.
  auto parsed = parse_index(doc(link("p/q/d", "../../a") + "," + link("p/q/x", "d/../../z")), "t");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message().find("p/q/x"), std::string::npos) << parsed.error().message();
  // A loop is refused rather than followed forever.
  EXPECT_FALSE(parse_index(doc(link("a", "b/x") + "," + link("b", "a/y")), "t").ok());
}

TEST(StoreIndex, RejectsEntriesBelowFilesAndSymlinks) {
  EXPECT_FALSE(parse_index(doc(link("d", "sub") + "," + file("d/x")), "t").ok());
  EXPECT_FALSE(parse_index(doc(file("f") + "," + file("f/x")), "t").ok());
  EXPECT_FALSE(parse_index(doc(file("f") + "," + file("f")), "t").ok());
  EXPECT_FALSE(parse_index(doc(file(".airlock/index.json")), "t").ok());
}

TEST(StoreIndex, RejectsMalformedFields) {
  EXPECT_FALSE(parse_index(R"({"entries": []})", "t").ok());
  EXPECT_FALSE(parse_index(R"({"format": "airlock-store/1"})", "t").ok());
  EXPECT_FALSE(parse_index(R"([1,2])", "t").ok());
  EXPECT_FALSE(parse_index(doc(R"({"path": "a", "type": "file", "size": -1, "sha256": ")" + kSha + R"("})"), "t").ok());
  EXPECT_FALSE(
      parse_index(doc(R"({"path": "a", "type": "file", "size": 1.5, "sha256": ")" + kSha + R"("})"), "t").ok());
  EXPECT_FALSE(parse_index(doc(R"({"path": "a", "type": "file", "size": 1, "sha256": "ABC"})"), "t").ok());
  EXPECT_FALSE(parse_index(doc(R"({"path": "a", "type": "fifo"})"), "t").ok());
  EXPECT_FALSE(parse_index(doc(R"({"path": 3, "type": "file"})"), "t").ok());
  EXPECT_FALSE(parse_index("{not json", "t").ok());
}

TEST(StoreIndex, NewerFormatIsUnsupportedNotCorrupt) {
  auto parsed = parse_index(R"({"format": "airlock-store/2", "entries": []})", "t");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code(), ErrorCode::kUnsupported);
}

TEST(StoreIndex, IgnoresUnknownFields) {
  auto parsed = parse_index(R"({"format": "airlock-store/1", "future": 1, "entries": [{"path": "a", "type": "file",
      "size": 1, "sha256": ")" + kSha +
                                R"(", "mode": 420}]})",
                            "t");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
}

}  // namespace
}  // namespace airlock::sync
