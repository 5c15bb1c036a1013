#include "store/file_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "core/file_io.h"
#include "core/paths.h"

namespace airlock::store {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kChunk = 1 << 20;

bool is_temp_name(std::string_view name) {
  return name.find(".airlock-tmp.") != std::string_view::npos;
}

struct Walked {
  std::string key;
  ObjectInfo info;
  bool is_dir = false;
};

Status walk(const fs::path& dir, const std::string& key_prefix, bool recursive, std::vector<Walked>& out) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) return ok_status();
    return io_error(fmt::format("cannot list {}: {}", dir.string(), ec.message()));
  }
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    if (is_temp_name(name)) continue;
    std::string key = key_prefix + name;
    struct stat st {};
    if (::lstat(entry.path().c_str(), &st) != 0) continue;  // vanished while listing
    if (S_ISDIR(st.st_mode)) {
      if (recursive) {
        AIRLOCK_TRY(walk(entry.path(), key + "/", true, out));
      } else {
        out.push_back(Walked{key + "/", {}, true});
      }
    } else if (S_ISREG(st.st_mode)) {
      ObjectInfo info;
      info.key = key;
      info.size = static_cast<std::uint64_t>(st.st_size);
      out.push_back(Walked{key, std::move(info), false});
    } else if (S_ISLNK(st.st_mode)) {
      ObjectInfo info;
      info.key = key;
      info.symlink_target = fs::read_symlink(entry.path(), ec).string();
      if (ec) return io_error(fmt::format("cannot read symlink {}: {}", entry.path().string(), ec.message()));
      out.push_back(Walked{key, std::move(info), false});
    }
    // Sockets, FIFOs and devices are not objects.
  }
  return ok_status();
}

}  // namespace

FileStore::FileStore(fs::path root) : root_(std::move(root)) {}

std::string FileStore::display_uri() const {
  return root_.string();
}

Capabilities FileStore::capabilities() const {
  Capabilities caps;
  caps.local = true;
  return caps;
}

Result<fs::path> FileStore::path_for(std::string_view key) const {
  return safe_join(root_, key, "store key");
}

Result<std::optional<ObjectInfo>> FileStore::stat(std::string_view key) {
  AIRLOCK_ASSIGN_OR_RETURN(fs::path path, path_for(key));
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<ObjectInfo>();
    return errno_error("cannot stat " + path.string(), errno);
  }
  ObjectInfo info;
  info.key = std::string(key);
  if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    info.symlink_target = fs::read_symlink(path, ec).string();
    struct stat target {};
    if (::stat(path.c_str(), &target) == 0 && S_ISREG(target.st_mode))
      info.size = static_cast<std::uint64_t>(target.st_size);
    return std::optional<ObjectInfo>(std::move(info));
  }
  if (!S_ISREG(st.st_mode)) return std::optional<ObjectInfo>();
  info.size = static_cast<std::uint64_t>(st.st_size);
  return std::optional<ObjectInfo>(std::move(info));
}

Result<ListPage> FileStore::list_page(std::string_view prefix, const ListOptions& options,
                                      const std::optional<std::string>& token) {
  std::string dir_prefix = as_directory_prefix(prefix);
  fs::path dir = root_;
  if (!dir_prefix.empty()) {
    AIRLOCK_ASSIGN_OR_RETURN(
        dir, safe_join(root_, std::string_view(dir_prefix).substr(0, dir_prefix.size() - 1), "listing prefix"));
    struct stat st {};
    // A prefix that is a symlink to a directory is not walked: it is an object, not a directory.
    if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return ListPage{};
  }
  std::vector<Walked> walked;
  AIRLOCK_TRY(walk(dir, dir_prefix, options.recursive, walked));
  std::sort(walked.begin(), walked.end(), [](const Walked& a, const Walked& b) { return a.key < b.key; });
  ListPage page;
  const std::size_t limit = std::max<std::size_t>(options.page_size, 1);
  std::size_t taken = 0;
  std::string last_key;
  for (auto& item : walked) {
    if (token && item.key <= *token) continue;
    if (taken == limit) {
      page.next_token = last_key;
      break;
    }
    ++taken;
    last_key = item.key;
    if (item.is_dir) {
      page.prefixes.push_back(item.key);
    } else {
      page.objects.push_back(std::move(item.info));
    }
  }
  return page;
}

Status FileStore::read(std::string_view key, const ReadOptions& options, const ByteSink& sink) {
  AIRLOCK_ASSIGN_OR_RETURN(fs::path path, path_for(key));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      return not_found(fmt::format("{} does not exist in {}", key, display_uri()));
    return errno_error("cannot open " + path.string(), errno);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return not_found(fmt::format("{} in {} is not a file", key, display_uri()));
  }
  const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  std::uint64_t offset = options.range ? options.range->offset : 0;
  std::uint64_t end = size;
  if (options.range && options.range->length) end = std::min(size, offset + *options.range->length);
  if (offset > size) {
    ::close(fd);
    return invalid_argument(fmt::format("range starts at {} beyond the end of {} ({} bytes)", offset, key, size));
  }
  ::posix_fadvise(fd, static_cast<off_t>(offset), 0, POSIX_FADV_SEQUENTIAL);
  std::vector<char> buffer(kChunk);
  Status status;
  while (offset < end) {
    if (options.cancel && options.cancel->load()) {
      status = Error(ErrorCode::kCancelled, "cancelled");
      break;
    }
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), end - offset));
    ssize_t n = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = errno_error("cannot read " + path.string(), errno);
      break;
    }
    if (n == 0) {
      status = io_error(fmt::format("{} shrank while being read", path.string()));
      break;
    }
    status = sink(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    if (!status.ok()) break;
    offset += static_cast<std::uint64_t>(n);
  }
  ::close(fd);
  return status;
}

Status FileStore::write(std::string_view key, const ByteSource& source, const WriteOptions& options) {
  AIRLOCK_ASSIGN_OR_RETURN(fs::path path, path_for(key));
  AIRLOCK_TRY(make_directories(path.parent_path()));
  AIRLOCK_ASSIGN_OR_RETURN(AtomicFileWriter writer, AtomicFileWriter::open(path));
  std::vector<char> buffer(kChunk);
  std::uint64_t offset = 0;
  while (offset < source.size) {
    if (options.cancel && options.cancel->load()) return Error(ErrorCode::kCancelled, "cancelled");
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), source.size - offset));
    AIRLOCK_ASSIGN_OR_RETURN(std::size_t n, source.read(offset, std::span<char>(buffer.data(), want)));
    if (n == 0) return io_error(fmt::format("the source of {} ended at byte {} of {}", key, offset, source.size));
    AIRLOCK_TRY(writer.write(std::string_view(buffer.data(), n)));
    offset += n;
    if (options.on_progress) options.on_progress(offset);
  }
  return writer.commit();
}

Status FileStore::remove(std::string_view key) {
  AIRLOCK_ASSIGN_OR_RETURN(fs::path path, path_for(key));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT && errno != ENOTDIR) {
    return errno_error("cannot delete " + path.string(), errno);
  }
  // Like an object store, a directory exists only while something is in it.
  fs::path dir = path.parent_path();
  std::error_code ec;
  const fs::path root = root_.lexically_normal();
  while (!dir.empty() && dir.lexically_normal() != root &&
         dir.lexically_normal().string().size() > root.string().size()) {
    if (::rmdir(dir.c_str()) != 0) break;
    dir = dir.parent_path();
  }
  return ok_status();
}

}  // namespace airlock::store
