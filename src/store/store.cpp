#include "store/store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/units.h"

namespace airlock::store {
namespace {

// Shared by every copy of a file_source, so that the descriptor lives as long as any reader.
struct SharedFd {
  int fd = -1;
  std::string path;
  ~SharedFd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Result<ByteSource> file_source(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("cannot open " + path, errno);
  auto shared = std::make_shared<SharedFd>();
  shared->fd = fd;
  shared->path = path;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_error("cannot stat " + path, errno);
  ByteSource source;
  source.size = static_cast<std::uint64_t>(st.st_size);
  source.read = [shared](std::uint64_t offset, std::span<char> buffer) -> Result<std::size_t> {
    while (true) {
      ssize_t n = ::pread(shared->fd, buffer.data(), buffer.size(), static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error(fmt::format("cannot read {} at offset {}", shared->path, offset), errno);
      if (n == 0 && !buffer.empty()) {
        return io_error(fmt::format("{} ended at byte {}: it changed while being uploaded", shared->path, offset));
      }
      return static_cast<std::size_t>(n);
    }
  };
  return source;
}

ByteSource string_source(std::string content) {
  auto shared = std::make_shared<const std::string>(std::move(content));
  ByteSource source;
  source.size = shared->size();
  source.read = [shared](std::uint64_t offset, std::span<char> buffer) -> Result<std::size_t> {
    if (offset >= shared->size()) return std::size_t{0};
    std::size_t n = std::min<std::size_t>(buffer.size(), shared->size() - offset);
    std::memcpy(buffer.data(), shared->data() + offset, n);
    return n;
  };
  return source;
}

Result<std::size_t> Store::abort_stale_uploads(std::string_view) {
  return std::size_t{0};
}

Result<std::vector<ObjectInfo>> Store::list_all(std::string_view prefix, ListOptions options) {
  std::vector<ObjectInfo> all;
  std::optional<std::string> token;
  // A server that keeps returning the same token would loop forever; a bound far above any real
  // listing (10 million keys at 1000 per page) turns that into an error.
  for (int page = 0; page < 10'000; ++page) {
    AIRLOCK_ASSIGN_OR_RETURN(ListPage result, list_page(prefix, options, token));
    for (auto& object : result.objects) all.push_back(std::move(object));
    if (!result.next_token) return all;
    if (token && *result.next_token == *token) {
      return Error(ErrorCode::kUnavailable,
                   fmt::format("listing {} did not advance: the server returned the same continuation token twice",
                               display_uri()));
    }
    token = std::move(result.next_token);
  }
  return Error(ErrorCode::kResourceExhausted, fmt::format("listing {} returned more than 10,000 pages", display_uri()));
}

Result<std::string> Store::read_to_string(std::string_view key, std::uint64_t limit) {
  std::string content;
  Status status = read(key, ReadOptions{}, [&](std::string_view bytes) -> Status {
    if (content.size() + bytes.size() > limit) {
      return Error(ErrorCode::kResourceExhausted,
                   fmt::format("{} in {} is larger than the {} allowed", key, display_uri(), format_bytes(limit)));
    }
    content.append(bytes);
    return ok_status();
  });
  if (!status.ok()) return std::move(status).error();
  return content;
}

Status Store::write_string(std::string_view key, std::string content, WriteOptions options) {
  return write(key, string_source(std::move(content)), options);
}

std::string as_directory_prefix(std::string_view prefix) {
  std::string out(prefix);
  while (!out.empty() && out.front() == '/') out.erase(out.begin());
  if (!out.empty() && out.back() != '/') out += '/';
  return out;
}

std::string join_key(std::string_view root_prefix, std::string_view key) {
  std::string out = as_directory_prefix(root_prefix);
  out.append(key);
  return out;
}

std::uint64_t choose_part_size(std::uint64_t size, std::uint64_t preferred, std::uint64_t minimum,
                               std::uint64_t max_parts) {
  std::uint64_t part = std::max(preferred, minimum);
  if (max_parts > 0) part = std::max(part, (size + max_parts - 1) / max_parts);
  return (part + kMiB - 1) / kMiB * kMiB;
}

}  // namespace airlock::store
