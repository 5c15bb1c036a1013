#include "cache/cache_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include "core/file_io.h"

namespace airlock::cache {
namespace {

Result<int> open_lock_file(const CacheLayout& layout) {
  AIRLOCK_TRY(make_directories(layout.airlock_dir()));
  auto path = layout.airlock_dir() / "cache.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error("cannot open " + path.string(), errno);
  return fd;
}

}  // namespace

Result<CacheUseLock> CacheUseLock::shared(const CacheLayout& layout) {
  AIRLOCK_ASSIGN_OR_RETURN(int fd, open_lock_file(layout));
  while (::flock(fd, LOCK_SH) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    ::close(fd);
    return errno_error("cannot lock " + (layout.airlock_dir() / "cache.lock").string(), err);
  }
  return CacheUseLock(fd);
}

Result<std::optional<CacheUseLock>> CacheUseLock::try_exclusive(const CacheLayout& layout) {
  AIRLOCK_ASSIGN_OR_RETURN(int fd, open_lock_file(layout));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return std::optional<CacheUseLock>();
    return errno_error("cannot lock " + (layout.airlock_dir() / "cache.lock").string(), err);
  }
  return std::optional<CacheUseLock>(CacheUseLock(fd));
}

CacheUseLock::CacheUseLock(CacheUseLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

CacheUseLock& CacheUseLock::operator=(CacheUseLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

CacheUseLock::~CacheUseLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace airlock::cache
