#include "fetch/store_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/file_io.h"
#include "core/redact.h"

namespace airlock::fetch {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kStateMagic = "airlock-store-partial/1";

fs::path state_path(const fs::path& partial) { return partial.string() + ".store"; }

// What the partial file's bytes were read from: only the same object continues them.
std::string state_text(const StoreObject& object) { return fmt::format("{} {} {}\n", kStateMagic, object.size, object.etag); }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Status pwrite_all(int fd, std::string_view bytes, std::uint64_t offset, const fs::path& path) {
  while (!bytes.empty()) {
    ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error(errno == ENOSPC ? ErrorCode::kResourceExhausted : ErrorCode::kIo,
                            fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
    bytes.remove_prefix(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return ok_status();
}

// Feeds the first `length` bytes of the partial file to the hasher (a resumed download).
Status hash_prefix(int fd, std::uint64_t length, cache::ContentHasher& hasher, const fs::path& path) {
  std::vector<char> buffer(1u << 20);
  std::uint64_t offset = 0;
  while (offset < length) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), length - offset));
    ssize_t n = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return errno_error("cannot read " + path.string(), n < 0 ? errno : EIO);
    hasher.update(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    offset += static_cast<std::uint64_t>(n);
  }
  return ok_status();
}

}  // namespace

Result<store::Store*> SourceStores::open(const SourceRef& source) {
  std::lock_guard lock(mutex_);
  auto it = stores_.find(source.store_folder);
  if (it == stores_.end()) {
    auto opened = store::open_store(source.store_folder, config_);
    if (!opened.ok()) return opened.error().with_context(fmt::format("source '{}'", redact(source.uri)));
    it = stores_.emplace(source.store_folder, std::move(opened).value()).first;
  }
  return it->second.get();
}

Result<StoreObject> stat_store_object(store::Store& store, const SourceRef& source) {
  auto info = store.stat(source.store_key);
  if (!info.ok()) return info.error().with_context(fmt::format("source '{}'", redact(source.uri)));
  if (!*info) {
    return not_found(fmt::format("source '{}': there is no object {} in {}", redact(source.uri), source.store_key,
                                 store.display_uri()));
  }
  StoreObject object;
  object.size = (*info)->size;
  object.etag = (*info)->etag;
  object.sha256 = (*info)->sha256;
  return object;
}

Result<DownloadOutcome> download_store_object(store::Store& store, const SourceRef& source, const StoreObject& object,
                                              const fs::path& partial, const cache::DigestNeeds& needs,
                                              const StoreReadTuning& tuning, Progress* progress) {
  AIRLOCK_TRY(make_directories(partial.parent_path()));
  Fd fd(::open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (fd.get() < 0) return errno_error("cannot open " + partial.string(), errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error("cannot stat " + partial.string(), errno);
  std::uint64_t offset = static_cast<std::uint64_t>(st.st_size);
  // Continue only bytes of this very object: same size and a (non-empty) ETag that did not change.
  const std::string state = state_text(object);
  auto remembered = read_file_limited(state_path(partial), 4096);
  if (tuning.whole || object.etag.empty() || offset > object.size || !remembered.ok() || *remembered != state) {
    offset = 0;
  }
  if (::ftruncate(fd.get(), static_cast<off_t>(offset)) != 0) return errno_error("cannot truncate " + partial.string(), errno);
  AIRLOCK_TRY(write_file_atomic(state_path(partial), state));

  cache::ContentHasher hasher(needs);
  DownloadOutcome outcome;
  if (offset > 0) {
    AIRLOCK_TRY(hash_prefix(fd.get(), offset, hasher, partial));
    outcome.reused = offset;
    if (progress != nullptr) progress->add_bytes(offset);
  }
  std::uint64_t written = offset;
  if (offset < object.size) {
    store::ReadOptions read;
    if (!tuning.whole) read.range = store::ByteRange{offset, object.size - offset};
    read.size = object.size;
    read.parallel = tuning.whole ? 1 : std::max(1, tuning.parallel);
    read.part_size = tuning.part_size;
    ++outcome.requests;
    Status status = store.read(source.store_key, read, [&](std::string_view bytes) -> Status {
      if (written + bytes.size() > object.size) {
        return Error(ErrorCode::kCorrupt, fmt::format("{}: the store sent more than the {} bytes the object has",
                                                      redact(source.uri), object.size));
      }
      hasher.update(bytes);
      // Written as it arrives and in order, so that what is on disk is always a prefix to continue from.
      AIRLOCK_TRY(pwrite_all(fd.get(), bytes, written, partial));
      written += bytes.size();
      outcome.transferred += bytes.size();
      if (progress != nullptr) progress->add_bytes(bytes.size());
      return ok_status();
    });
    if (!status.ok()) return status.error().with_context(fmt::format("reading {}", redact(source.uri)));
  }
  if (written != object.size) {
    return Error(ErrorCode::kCorrupt, fmt::format("{}: the store sent {} bytes of the {} the object has", redact(source.uri),
                                                  written, object.size));
  }
  if (tuning.sync && ::fdatasync(fd.get()) != 0) return errno_error("cannot flush " + partial.string(), errno);
  outcome.digests = hasher.finish();
  return outcome;
}

void discard_store_partial(const fs::path& partial) {
  ::unlink(partial.c_str());
  ::unlink(state_path(partial).c_str());
}

}  // namespace airlock::fetch
