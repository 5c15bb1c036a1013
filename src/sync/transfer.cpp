#include "sync/transfer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <mutex>
#include <vector>

#include "core/hash.h"
#include "core/thread_pool.h"

namespace airlock::sync {

Result<std::optional<StoreIndex>> read_store_index(store::Store& store) {
  auto text = store.read_to_string(kIndexKey, kMaxIndexBytes);
  if (!text.ok()) {
    if (text.error().code() == ErrorCode::kNotFound) return std::optional<StoreIndex>();
    return text.error().with_context("reading the index of " + store.display_uri());
  }
  const std::string source = store.display_uri() + std::string(kIndexKey);
  AIRLOCK_ASSIGN_OR_RETURN(StoreIndex index, parse_index(*text, source));
  return std::optional<StoreIndex>(std::move(index));
}

Result<std::string> hash_local_file(const std::filesystem::path& path, std::optional<std::uint64_t> expected_size,
                                    Progress* progress, const std::shared_ptr<std::atomic<bool>>& cancel) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("cannot open " + path.string(), errno);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  Hasher hasher(HashAlgorithm::kSha256);
  std::vector<char> buffer(1 << 20);
  std::uint64_t total = 0;
  while (true) {
    if (cancel && cancel->load()) {
      ::close(fd);
      return Error(ErrorCode::kCancelled, "cancelled");
    }
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return errno_error("cannot read " + path.string(), err);
    }
    if (n == 0) break;
    hasher.update(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    total += static_cast<std::uint64_t>(n);
    if (progress != nullptr) progress->add_bytes(static_cast<std::uint64_t>(n));
  }
  ::close(fd);
  if (expected_size && total != *expected_size) {
    return io_error(fmt::format("{} changed while airlock was reading it ({} bytes, then {})", path.string(),
                                *expected_size, total));
  }
  return hasher.finish_hex();
}

Result<std::string> hash_store_object(store::Store& store, const std::string& key, std::uint64_t size,
                                      const TransferOptions& options, Progress* progress) {
  Hasher hasher(HashAlgorithm::kSha256);
  std::uint64_t seen = 0;
  store::ReadOptions read;
  read.size = size;
  read.parallel = options.part_parallel;
  read.part_size = options.part_size;
  read.cancel = options.cancel;
  AIRLOCK_TRY(store.read(key, read, [&](std::string_view bytes) -> Status {
    hasher.update(bytes);
    seen += bytes.size();
    if (progress != nullptr) progress->add_bytes(bytes.size());
    return ok_status();
  }));
  if (seen != size) {
    return Error(ErrorCode::kCorrupt,
                 fmt::format("{} in {} has {} bytes, not {}", key, store.display_uri(), seen, size));
  }
  return hasher.finish_hex();
}

Status run_parallel(std::size_t count, int jobs, const std::shared_ptr<std::atomic<bool>>& cancel,
                    const std::function<Status(std::size_t)>& body) {
  if (count == 0) return ok_status();
  std::mutex mutex;
  std::optional<Error> first_error;
  std::atomic<bool> stop{false};
  auto run_one = [&](std::size_t i) {
    if (stop.load() || (cancel && cancel->load())) return;
    Status status = body(i);
    if (!status.ok()) {
      std::lock_guard lock(mutex);
      if (!first_error) first_error = std::move(status).error();
      stop.store(true);
    }
  };
  const std::size_t threads = std::min<std::size_t>(count, static_cast<std::size_t>(std::max(jobs, 1)));
  if (threads == 1) {
    for (std::size_t i = 0; i < count; ++i) run_one(i);
  } else {
    ThreadPool pool(threads);
    pool.parallel_for(count, run_one);
  }
  if (first_error) return *first_error;
  if (cancel && cancel->load()) return Error(ErrorCode::kCancelled, "cancelled");
  return ok_status();
}

}  // namespace airlock::sync
