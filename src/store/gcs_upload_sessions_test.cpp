// The local records of GCS resumable upload sessions: kept per content, private, and pruned once
// their sessions have expired.
#include "store/gcs_upload_sessions.h"

#include <gtest/gtest.h>

#include <fstream>

#include "testing.h"

namespace airlock::store {
namespace {

namespace fs = std::filesystem;

GcsUploadIdentity upload(const std::string& object, const std::string& sha256) {
  return {"https://storage.example", "bucket", object, 5, sha256};
}

TEST(GcsUploadSessions, KeepsOneSessionPerContentPrivately) {
  testing::TempDir tmp;
  GcsUploadSessions sessions(tmp / "gcs-uploads");
  auto a = upload("a.bin", std::string(64, 'a'));
  EXPECT_FALSE(sessions.find(a));
  ASSERT_TRUE(sessions.save(a, "https://storage.example/upload?upload_id=A").ok());
  EXPECT_EQ(sessions.find(a), "https://storage.example/upload?upload_id=A");
  EXPECT_EQ(fs::status(tmp / "gcs-uploads").permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(fs::status(sessions.record_path(a)).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  // Other content under the same name never continues that session.
  EXPECT_FALSE(sessions.find(upload("a.bin", std::string(64, 'b'))));
  sessions.forget(a);
  EXPECT_FALSE(sessions.find(a));
  // Without a directory nothing is kept.
  GcsUploadSessions off{fs::path()};
  EXPECT_TRUE(off.save(a, "x").ok());
  EXPECT_FALSE(off.find(a));
}

// A push that never ran again left its record; the next upload's save removes it once the session
// can no longer be used, and leaves fresh records and files that are not records alone.
TEST(GcsUploadSessions, SavingPrunesRecordsOfExpiredSessions) {
  testing::TempDir tmp;
  GcsUploadSessions sessions(tmp / "gcs-uploads");
  auto old_upload = upload("old.bin", std::string(64, 'c'));
  auto recent_upload = upload("recent.bin", std::string(64, 'd'));
  ASSERT_TRUE(sessions.save(old_upload, "https://storage.example/upload?upload_id=OLD").ok());
  ASSERT_TRUE(sessions.save(recent_upload, "https://storage.example/upload?upload_id=RECENT").ok());
  const auto week_ago = fs::file_time_type::clock::now() - std::chrono::hours(7 * 24);
  fs::last_write_time(sessions.record_path(old_upload), week_ago);
  std::ofstream(tmp / "gcs-uploads" / "notes.txt") << "not a record";
  fs::last_write_time(tmp / "gcs-uploads" / "notes.txt", week_ago);
  ASSERT_TRUE(sessions.save(upload("new.bin", std::string(64, 'e')), "https://storage.example/upload?upload_id=NEW").ok());
  EXPECT_FALSE(fs::exists(sessions.record_path(old_upload)));
  EXPECT_TRUE(fs::exists(sessions.record_path(recent_upload)));
  EXPECT_TRUE(fs::exists(tmp / "gcs-uploads" / "notes.txt"));
  EXPECT_EQ(sessions.prune_expired(), 0);
}

}  // namespace
}  // namespace airlock::store
