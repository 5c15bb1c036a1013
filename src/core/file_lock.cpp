#include "core/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <thread>

#include "core/file_io.h"

namespace airlock {
namespace fs = std::filesystem;
namespace {

Result<int> open_lock_file(const fs::path& path) {
  if (path.has_parent_path()) AIRLOCK_TRY(make_directories(path.parent_path()));
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error(fmt::format("cannot open lock file {}", path.string()), errno);
  return fd;
}

}  // namespace

Result<FileLock> FileLock::acquire(const fs::path& path) {
  AIRLOCK_ASSIGN_OR_RETURN(int fd, open_lock_file(path));
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    ::close(fd);
    return errno_error(fmt::format("cannot lock {}", path.string()), err);
  }
  return FileLock(path, fd);
}

Result<std::optional<FileLock>> FileLock::try_acquire(const fs::path& path) {
  AIRLOCK_ASSIGN_OR_RETURN(int fd, open_lock_file(path));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return std::optional<FileLock>();
    return errno_error(fmt::format("cannot lock {}", path.string()), err);
  }
  return std::optional<FileLock>(FileLock(path, fd));
}

Result<FileLock> FileLock::acquire_for(const fs::path& path, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(5);
  while (true) {
    AIRLOCK_ASSIGN_OR_RETURN(std::optional<FileLock> lock, try_acquire(path));
    if (lock) return std::move(*lock);
    if (std::chrono::steady_clock::now() >= deadline) {
      return Error(ErrorCode::kTimeout,
                   fmt::format("another process holds the lock {} (waited {} ms)", path.string(), timeout.count()));
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(200));
  }
}

FileLock::FileLock(FileLock&& other) noexcept : path_(std::move(other.path_)), fd_(other.fd_) { other.fd_ = -1; }

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() { release(); }

void FileLock::release() {
  if (fd_ >= 0) {
    // The lock file stays: unlinking it would race with a process that just opened it and
    // would then lock an orphaned inode while a third process locks a new file.
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace airlock
