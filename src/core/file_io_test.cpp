#include "core/file_io.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/file_lock.h"
#include "testing.h"

namespace airlock {
namespace {
namespace fs = std::filesystem;

std::size_t count_entries(const fs::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) ++n;
  return n;
}

TEST(FileIo, AtomicWriteReplacesWhole) {
  testing::TempDir dir;
  fs::path target = dir / "sub/dir/file.json";
  ASSERT_TRUE(write_file_atomic(target, "first").ok());
  ASSERT_TRUE(write_file_atomic(target, "second").ok());
  EXPECT_EQ(*read_file(target), "second");
  EXPECT_EQ(count_entries(target.parent_path()), 1u) << "no temporary files left behind";
}

TEST(FileIo, UncommittedWriterLeavesNothing) {
  testing::TempDir dir;
  fs::path target = dir / "blob";
  testing::write_text(target, "old");
  {
    auto writer = AtomicFileWriter::open(target);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE(writer->write("partial new content").ok());
    EXPECT_TRUE(fs::exists(writer->temp_path()));
  }
  EXPECT_EQ(*read_file(target), "old");
  EXPECT_EQ(count_entries(dir.path()), 1u);
}

TEST(FileIo, StreamedCommit) {
  testing::TempDir dir;
  auto writer = AtomicFileWriter::open(dir / "x");
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE(writer->write("abc").ok());
  ASSERT_TRUE(writer->write("def").ok());
  EXPECT_EQ(writer->bytes_written(), 6u);
  ASSERT_TRUE(writer->commit().ok());
  EXPECT_EQ(*read_file(dir / "x"), "abcdef");
}

TEST(FileIo, ReadErrors) {
  testing::TempDir dir;
  EXPECT_EQ(read_file(dir / "missing").error().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(read_file(dir.path()).ok());
  testing::write_text(dir / "big", std::string(1000, 'a'));
  EXPECT_EQ(read_file_limited(dir / "big", 100).error().code(), ErrorCode::kResourceExhausted);
  EXPECT_TRUE(read_file_limited(dir / "big", 1000).ok());
}

TEST(FileLock, ExcludesOtherProcesses) {
  testing::TempDir dir;
  fs::path lock_path = dir / "locks/blob.lock";
  auto held = FileLock::acquire(lock_path);
  ASSERT_TRUE(held.ok());
  pid_t child = ::fork();
  if (child == 0) {
    auto attempt = FileLock::try_acquire(lock_path);
    _exit(attempt.ok() && !attempt->has_value() ? 0 : 1);
  }
  EXPECT_EQ(testing::wait_for(child), 0) << "a second process must not get the lock";
  held->release();
  child = ::fork();
  if (child == 0) {
    auto attempt = FileLock::try_acquire(lock_path);
    _exit(attempt.ok() && attempt->has_value() ? 0 : 1);
  }
  EXPECT_EQ(testing::wait_for(child), 0) << "the lock is free after release";
}

TEST(FileLock, DeadHolderReleasesLock) {
  testing::TempDir dir;
  fs::path lock_path = dir / "blob.lock";
  pid_t child = ::fork();
  if (child == 0) {
    auto lock = FileLock::acquire(lock_path);
    ::pause();  // killed below while holding the lock
    _exit(0);
  }
  // Wait until the child holds it.
  for (int i = 0; i < 200; ++i) {
    auto attempt = FileLock::try_acquire(lock_path);
    if (attempt.ok() && !attempt->has_value()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(child, SIGKILL);
  testing::wait_for(child);
  auto after = FileLock::acquire_for(lock_path, std::chrono::milliseconds(2000));
  EXPECT_TRUE(after.ok());
}

TEST(FileLock, TimeoutNamesTheLock) {
  testing::TempDir dir;
  auto held = FileLock::acquire(dir / "l");
  ASSERT_TRUE(held.ok());
  pid_t child = ::fork();
  if (child == 0) {
    auto attempt = FileLock::acquire_for(dir / "l", std::chrono::milliseconds(100));
    bool good = !attempt.ok() && attempt.error().code() == ErrorCode::kTimeout &&
                attempt.error().message().find("/l") != std::string::npos;
    _exit(good ? 0 : 1);
  }
  EXPECT_EQ(testing::wait_for(child), 0);
}

// A process killed with -9 leaves its private temporary directory behind; the next run removes
// it, and only it: directories of live processes, and names that do not fit, stay.
TEST(FileIo, DirectoriesOfDeadProcessesAreRemoved) {
  testing::TempDir tmp;
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);  // now a process number nobody runs under
  auto make = [&](const std::string& name) {
    std::filesystem::create_directories(tmp / name);
    std::ofstream(tmp / name / "ccache") << "ticket";
  };
  const std::string dead = "airlock-krb5-" + std::to_string(child) + "-a1b2c3";
  const std::string alive = "airlock-krb5-" + std::to_string(::getpid()) + "-d4e5f6";
  const std::string dead_workspace = "airlock-workspace-0123abcd-" + std::to_string(child) + "-XyZ";
  for (const std::string& name : {dead, alive, dead_workspace, std::string("airlock-krb5-notapid-x"),
                                  std::string("airlock-krb5-0-x"), "airlock-krb5-" + std::to_string(child),
                                  std::string("someone-else")}) {
    make(name);
  }
  EXPECT_EQ(remove_directories_of_dead_processes(tmp.path(), "airlock-krb5-", 0), 1);
  EXPECT_FALSE(std::filesystem::exists(tmp / dead));
  EXPECT_TRUE(std::filesystem::exists(tmp / alive / "ccache"));
  EXPECT_TRUE(std::filesystem::exists(tmp / "airlock-krb5-notapid-x"));
  EXPECT_TRUE(std::filesystem::exists(tmp / "airlock-krb5-0-x"));
  EXPECT_TRUE(std::filesystem::exists(tmp / ("airlock-krb5-" + std::to_string(child))));  // no random part
  EXPECT_TRUE(std::filesystem::exists(tmp / "someone-else"));
  EXPECT_TRUE(std::filesystem::exists(tmp / dead_workspace));
  EXPECT_EQ(remove_directories_of_dead_processes(tmp.path(), "airlock-workspace-", 1), 1);
  EXPECT_FALSE(std::filesystem::exists(tmp / dead_workspace));
  EXPECT_EQ(remove_directories_of_dead_processes(tmp / "missing", "airlock-krb5-", 0), 0);
}

}  // namespace
}  // namespace airlock
