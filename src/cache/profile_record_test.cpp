#include "cache/profile_record.h"

#include <gtest/gtest.h>

#include "testing.h"

namespace airlock::cache {
namespace {

ProfileRecord sample() {
  ProfileRecord record;
  record.id = "abc123";
  record.description = "vllm-bf16-tp1-pp1";
  record.tags = {{"llm_engine", "vllm"}, {"tp", "1"}};
  record.created_at = "2025-01-01T00:00:00Z";
  RecordedFile file;
  file.path = "trtllm_engine/rank0.engine";
  file.uri = "https://host/x?X-Amz-Signature=secretvalue123&ok=1";
  file.repo = {Hub::kNgc, "nim/meta/m"};
  file.snapshot = "1.0+abc";
  file.file = "rank0.engine";
  file.blob = "0355b8d0421a12e6aeb6a2e9ef42ae60";
  file.size = 5;
  file.sha256 = std::string(64, 'a');
  file.blake3 = std::string(64, 'b');
  record.files.push_back(file);
  return record;
}

TEST(ProfileRecord, RoundTripsAndRedactsUris) {
  testing::TempDir dir;
  CacheLayout layout(dir.path());
  ASSERT_TRUE(write_profile_record(layout, sample()).ok());
  std::string text = testing::read_text(layout.profile_record_path("abc123"));
  EXPECT_EQ(text.find("secretvalue123"), std::string::npos);
  EXPECT_NE(text.find("\"cache_path\": \"ngc/hub/models--nim--meta--m/snapshots/1.0+abc/rank0.engine\""), std::string::npos);
  auto back = read_profile_record(layout, "abc123");
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(back->files.size(), 1u);
  EXPECT_EQ(back->files[0].repo, (RepoId{Hub::kNgc, "nim/meta/m"}));
  EXPECT_EQ(back->files[0].blake3.value_or(""), std::string(64, 'b'));
  EXPECT_EQ(back->total_size(), 5u);
  auto list = list_profile_records(layout);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->records.size(), 1u);
  auto missing = read_profile_record(layout, "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find("download-to-cache"), std::string::npos);
}

TEST(ProfileRecord, RejectsHostileRecords) {
  CacheLayout layout("/c");
  Json good = record_to_json(layout, sample());
  ASSERT_TRUE(record_from_json(good, "r").ok());
  auto with = [&](const char* key, Json value) {
    Json copy = good;
    copy["files"][0][key] = std::move(value);
    return record_from_json(copy, "r");
  };
  EXPECT_FALSE(with("path", "../../etc/passwd").ok());
  EXPECT_FALSE(with("file", "/etc/passwd").ok());
  EXPECT_FALSE(with("snapshot", "..").ok());
  EXPECT_FALSE(with("repo", "a/../b").ok());
  EXPECT_FALSE(with("blob", "../x").ok());
  EXPECT_FALSE(with("sha256", "xyz").ok());
  EXPECT_FALSE(with("size", -1).ok());
  Json bad_id = good;
  bad_id["id"] = "../x";
  EXPECT_FALSE(record_from_json(bad_id, "r").ok());
  Json newer = good;
  newer["format"] = "airlock-profile/9";
  auto refused = record_from_json(newer, "r");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace airlock::cache
