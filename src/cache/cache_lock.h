// A cache-wide lock on `<cache>/.airlock/cache.lock`: downloads hold it shared for their whole
// run, `cache prune` and `cache rm` exclusively, so that a blob just downloaded but not yet
// linked is never taken for garbage. flock(2): the kernel drops it when the process dies.
#pragma once

#include <optional>

#include "cache/hub_layout.h"
#include "core/result.h"

namespace airlock::cache {

class CacheUseLock {
 public:
  // Blocks while an exclusive holder (a prune) runs.
  static Result<CacheUseLock> shared(const CacheLayout& layout);
  // nullopt when anyone else holds the lock (a download is running).
  static Result<std::optional<CacheUseLock>> try_exclusive(const CacheLayout& layout);

  CacheUseLock(CacheUseLock&& other) noexcept;
  CacheUseLock& operator=(CacheUseLock&& other) noexcept;
  CacheUseLock(const CacheUseLock&) = delete;
  CacheUseLock& operator=(const CacheUseLock&) = delete;
  ~CacheUseLock();

 private:
  explicit CacheUseLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace airlock::cache
