#include "cache/checksums_blake3.h"

#include <gtest/gtest.h>

namespace airlock::cache {
namespace {

const std::string kA(64, 'a');
const std::string kB = std::string(63, 'B') + "0";

TEST(ChecksumsBlake3, ParsesNgcForm) {
  auto sums = parse_checksums_blake3(kA + "  config.json\n" + kB + "  sub/rank0.engine\r\n\n" + kA + " *./x.bin", "t");
  ASSERT_TRUE(sums.ok()) << sums.error().message();
  ASSERT_EQ(sums->size(), 3u);
  EXPECT_EQ(sums->at("config.json"), kA);
  EXPECT_EQ(sums->at("sub/rank0.engine"), std::string(63, 'b') + "0");  // lowercased
  EXPECT_EQ(sums->at("x.bin"), kA);
}

TEST(ChecksumsBlake3, RejectsHostileOrMalformedLines) {
  for (const std::string& text : {kA + "  ../etc/passwd\n", kA + "  /abs\n", kA.substr(1) + "   x\n", std::string(64, 'g') + "  x\n",
                                  kA + " x\n", kA + "  \n", kA + "  a\n" + kB + "  a\n"}) {
    auto sums = parse_checksums_blake3(text, "checksums.blake3");
    EXPECT_FALSE(sums.ok()) << text;
    if (!sums.ok()) {
      EXPECT_NE(sums.error().message().find("checksums.blake3:"), std::string::npos);
    }
  }
  EXPECT_TRUE(parse_checksums_blake3("", "t").ok());
}

}  // namespace
}  // namespace airlock::cache
