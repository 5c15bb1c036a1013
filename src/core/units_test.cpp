#include "core/units.h"

#include <gtest/gtest.h>

namespace airlock {
namespace {

TEST(Units, FormatsBytes) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(80ull << 30), "80.0 GiB");
}

TEST(Units, FormatsRatesAndDurations) {
  EXPECT_EQ(format_rate(123456789), "123.5 MB/s");
  EXPECT_EQ(format_rate(0), "0.0 B/s");
  EXPECT_EQ(format_duration(std::chrono::duration<double>(2.5)), "2.5s");
  EXPECT_EQ(format_duration(std::chrono::duration<double>(75)), "1m15s");
  EXPECT_EQ(format_duration(std::chrono::duration<double>(3725)), "1h02m05s");
}

TEST(Units, ParsesSizes) {
  EXPECT_EQ(*parse_bytes("512"), 512u);
  EXPECT_EQ(*parse_bytes("4k"), 4096u);
  EXPECT_EQ(*parse_bytes("80GiB"), 80ull << 30);
  EXPECT_EQ(*parse_bytes("80 GB"), 80'000'000'000ull);
  EXPECT_EQ(*parse_bytes("1.5T"), 1649267441664ull);
  EXPECT_EQ(*parse_bytes("48Gi"), 48ull << 30);
  for (const char* bad : {"", "GiB", "12XB", "-1", "1..2G", "99999999999P"}) EXPECT_FALSE(parse_bytes(bad).ok()) << bad;
}

}  // namespace
}  // namespace airlock
