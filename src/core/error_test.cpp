#include "core/error.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <string>

#include "core/result.h"

namespace airlock {
namespace {

Result<int> parse_positive(int value) {
  if (value <= 0) return invalid_argument("value must be positive");
  return value;
}

Result<int> doubled(int value) {
  AIRLOCK_ASSIGN_OR_RETURN(int checked, parse_positive(value));
  return checked * 2;
}

Status check_both(int a, int b) {
  AIRLOCK_TRY(parse_positive(a));
  AIRLOCK_TRY(parse_positive(b));
  return ok_status();
}

TEST(Result, CarriesValueOrError) {
  Result<int> good = doubled(21);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 42);
  Result<int> bad = doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message(), "value must be positive");
  EXPECT_EQ(bad.value_or(7), 7);
}

TEST(Result, StatusPropagatesFirstError) {
  EXPECT_TRUE(check_both(1, 2).ok());
  Status status = check_both(1, 0);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), ErrorCode::kInvalidArgument);
}

TEST(Result, HoldsMoveOnlyValues) {
  Result<std::unique_ptr<int>> result = std::make_unique<int>(5);
  ASSERT_TRUE(result.ok());
  std::unique_ptr<int> owned = std::move(result).value();
  EXPECT_EQ(*owned, 5);
}

TEST(Error, ContextIsPrepended) {
  Error error = not_found("no such profile").with_context("reading manifest m.yaml");
  EXPECT_EQ(error.message(), "reading manifest m.yaml: no such profile");
  EXPECT_EQ(error.code(), ErrorCode::kNotFound);
}

TEST(Error, ErrnoMapsToCodes) {
  EXPECT_EQ(errno_error("open", ENOENT).code(), ErrorCode::kNotFound);
  EXPECT_EQ(errno_error("open", EACCES).code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(errno_error("write", ENOSPC).code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(errno_error("open", ENOENT).message().find("No such file"), std::string::npos);
}

TEST(Error, CodeNamesAreStable) {
  EXPECT_EQ(error_code_name(ErrorCode::kCorrupt), "corrupt");
  EXPECT_EQ(error_code_name(ErrorCode::kUnauthenticated), "unauthenticated");
}

}  // namespace
}  // namespace airlock
