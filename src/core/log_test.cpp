#include "core/log.h"

#include <gtest/gtest.h>

#include "core/json.h"

namespace airlock::log {
namespace {

TEST(Log, ParsesLevelsAndFormats) {
  EXPECT_EQ(*parse_level("DEBUG"), Level::kDebug);
  EXPECT_EQ(*parse_level("warning"), Level::kWarn);
  EXPECT_FALSE(parse_level("loud").ok());
  EXPECT_EQ(*parse_format("json"), Format::kJson);
  EXPECT_FALSE(parse_format("xml").ok());
}

TEST(Log, JsonLinesAreRedactedJson) {
  configure(Level::kInfo, Format::kJson);
  ::testing::internal::CaptureStderr();
  info("sending Authorization: Bearer {} to {}", "tok-123456789", "https://h/p?X-Amz-Signature=abc123");
  debug("not shown at info level");
  std::string out = ::testing::internal::GetCapturedStderr();
  configure(Level::kInfo, Format::kText);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.find("tok-123456789"), std::string::npos) << out;
  EXPECT_EQ(out.find("abc123"), std::string::npos) << out;
  EXPECT_EQ(out.find("not shown"), std::string::npos);
  auto record = parse_json(out, "log line");
  ASSERT_TRUE(record.ok()) << record.error().message();
  EXPECT_EQ((*record)["level"], "info");
  EXPECT_TRUE((*record).contains("time"));
}

TEST(Log, TextLinesCarryLevel) {
  configure(Level::kDebug, Format::kText);
  ::testing::internal::CaptureStderr();
  warn("disk is {}% full", 91);
  std::string out = ::testing::internal::GetCapturedStderr();
  configure(Level::kInfo, Format::kText);
  EXPECT_NE(out.find("WARN"), std::string::npos);
  EXPECT_NE(out.find("disk is 91% full"), std::string::npos);
}

}  // namespace
}  // namespace airlock::log
