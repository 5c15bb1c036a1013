#include "core/strings.h"

#include <gtest/gtest.h>

namespace airlock {
namespace {

TEST(Strings, TrimLowerEquals) {
  EXPECT_EQ(trim("  a b \r\n"), "a b");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(to_lower("Content-Type"), "content-type");
  EXPECT_TRUE(iequals("ETag", "etag"));
  EXPECT_FALSE(iequals("ETag", "etags"));
}

TEST(Strings, SplitKeepsEmptyPieces) {
  auto parts = split("a,,b", ',');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1], "");
  EXPECT_EQ(split("", ',').size(), 1u);
}

TEST(Strings, ParsesWholeNumbers) {
  EXPECT_EQ(parse_u64(" 42 "), 42u);
  EXPECT_EQ(parse_u64("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(parse_u64("18446744073709551616"));
  EXPECT_FALSE(parse_u64("-1"));
  EXPECT_FALSE(parse_u64("4x"));
  EXPECT_FALSE(parse_u64(""));
}

}  // namespace
}  // namespace airlock
