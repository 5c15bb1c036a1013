#include "core/file_io.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <random>

#include "core/strings.h"

namespace airlock {
namespace fs = std::filesystem;
namespace {

Status write_all(int fd, const void* data, std::size_t size, const fs::path& path) {
  const char* cursor = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, cursor, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(fmt::format("cannot write {}", path.string()), errno);
    }
    cursor += n;
    size -= static_cast<std::size_t>(n);
  }
  return ok_status();
}

}  // namespace

Result<std::string> read_file(const fs::path& path) {
  return read_file_limited(path, UINT64_MAX);
}

Result<std::string> read_file_limited(const fs::path& path, std::uint64_t limit) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error(fmt::format("cannot open {}", path.string()), errno);
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return invalid_argument(fmt::format("{} is a directory, not a file", path.string()));
  }
  std::string content;
  char buffer[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return errno_error(fmt::format("cannot read {}", path.string()), err);
    }
    if (n == 0) break;
    if (content.size() + static_cast<std::size_t>(n) > limit) {
      ::close(fd);
      return Error(ErrorCode::kResourceExhausted,
                   fmt::format("{} is larger than the limit of {} bytes", path.string(), limit));
    }
    content.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return content;
}

Status make_directories(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error(ec.value() == EACCES ? ErrorCode::kPermissionDenied : ErrorCode::kIo,
                       fmt::format("cannot create directory {}: {}", dir.string(), ec.message()));
  return ok_status();
}

Status fsync_directory(const fs::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_error(fmt::format("cannot open directory {}", dir.string()), errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  // Some file systems (e.g. certain FUSE mounts) refuse fsync on directories; that is not data loss.
  if (rc != 0 && err != EINVAL && err != ENOTSUP) return errno_error(fmt::format("cannot fsync {}", dir.string()), err);
  return ok_status();
}

fs::path temp_sibling(const fs::path& path) {
  static std::atomic<std::uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string name = fmt::format(".{}.airlock-tmp.{}.{:x}{:x}", path.filename().string(), ::getpid(), rng() & 0xffffff,
                                 counter.fetch_add(1));
  return path.parent_path() / name;
}

Status write_file_atomic(const fs::path& path, std::string_view content) {
  AIRLOCK_ASSIGN_OR_RETURN(AtomicFileWriter writer, AtomicFileWriter::open(path));
  AIRLOCK_TRY(writer.write(content));
  return writer.commit();
}

Result<AtomicFileWriter> AtomicFileWriter::open(const fs::path& path) {
  if (path.has_parent_path()) AIRLOCK_TRY(make_directories(path.parent_path()));
  fs::path temp = temp_sibling(path);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error(fmt::format("cannot create {}", temp.string()), errno);
  return AtomicFileWriter(path, std::move(temp), fd);
}

AtomicFileWriter::AtomicFileWriter(AtomicFileWriter&& other) noexcept
    : path_(std::move(other.path_)), temp_path_(std::move(other.temp_path_)), fd_(other.fd_),
      bytes_written_(other.bytes_written_) {
  other.fd_ = -1;
}

AtomicFileWriter& AtomicFileWriter::operator=(AtomicFileWriter&& other) noexcept {
  if (this != &other) {
    abort();
    path_ = std::move(other.path_);
    temp_path_ = std::move(other.temp_path_);
    fd_ = other.fd_;
    bytes_written_ = other.bytes_written_;
    other.fd_ = -1;
  }
  return *this;
}

AtomicFileWriter::~AtomicFileWriter() { abort(); }

Status AtomicFileWriter::write(std::span<const std::uint8_t> bytes) {
  if (fd_ < 0) return internal_error("write to a closed AtomicFileWriter");
  AIRLOCK_TRY(write_all(fd_, bytes.data(), bytes.size(), temp_path_));
  bytes_written_ += bytes.size();
  return ok_status();
}

Status AtomicFileWriter::write(std::string_view bytes) {
  return write(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

Status AtomicFileWriter::commit() {
  if (fd_ < 0) return internal_error("commit of a closed AtomicFileWriter");
  if (::fsync(fd_) != 0) {
    int err = errno;
    abort();
    return errno_error(fmt::format("cannot fsync {}", temp_path_.string()), err);
  }
  ::close(fd_);
  fd_ = -1;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(temp_path_.c_str());
    return errno_error(fmt::format("cannot rename into place {}", path_.string()), err);
  }
  return fsync_directory(path_.parent_path());
}

void AtomicFileWriter::abort() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    ::unlink(temp_path_.c_str());
  }
}

int remove_directories_of_dead_processes(const std::filesystem::path& parent, std::string_view prefix,
                                         std::size_t pid_field) {
  constexpr std::uint64_t kPidMax = 4'194'304;  // Linux's upper bound of /proc/sys/kernel/pid_max
  std::error_code ec;
  int removed = 0;
  for (std::filesystem::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(prefix)) continue;
    const std::vector<std::string_view> fields = split(std::string_view(name).substr(prefix.size()), '-');
    if (pid_field + 1 >= fields.size()) continue;  // a random part follows the pid
    const auto pid = parse_u64(fields[pid_field]);
    if (!pid || *pid == 0 || *pid > kPidMax) continue;
    struct stat info {};
    if (::lstat(it->path().c_str(), &info) != 0 || !S_ISDIR(info.st_mode) || info.st_uid != ::geteuid()) continue;
    if (::kill(static_cast<pid_t>(*pid), 0) == 0 || errno != ESRCH) continue;
    std::error_code remove_ec;
    if (std::filesystem::remove_all(it->path(), remove_ec) > 0 && !remove_ec) ++removed;
  }
  return removed;
}

}  // namespace airlock
