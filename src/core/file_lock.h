// Advisory file locks (flock): serialise writers of the same blob across processes. The kernel
// drops the lock when the process dies, so a `kill -9` never leaves a stale lock behind.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>

#include "core/result.h"

namespace airlock {

class FileLock {
 public:
  // Blocks until the exclusive lock on `path` (created if missing) is held.
  static Result<FileLock> acquire(const std::filesystem::path& path);
  // Returns nullopt when another process holds the lock.
  static Result<std::optional<FileLock>> try_acquire(const std::filesystem::path& path);
  // Waits up to `timeout`, then fails with kTimeout naming the lock file.
  static Result<FileLock> acquire_for(const std::filesystem::path& path, std::chrono::milliseconds timeout);

  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

  void release();
  const std::filesystem::path& path() const { return path_; }

 private:
  FileLock(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace airlock
