#include "sync/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "core/file_io.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/strings.h"
#include "core/units.h"
#include "store/file_store.h"
#include "sync/tree_scan.h"

namespace airlock::sync {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kPipeLimit = 16 * 1024 * 1024;

bool is_zip_name(std::string_view name) {
  return to_lower(name).ends_with(".zip");
}

// Bytes from a producer thread (the download) to libarchive's read callback, bounded so that a
// fast network never buffers a whole archive.
struct Pipe {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::string> chunks;
  std::size_t queued = 0;
  bool finished = false;
  bool closed = false;  // the consumer stopped reading
  std::optional<Error> error;
  std::string current;
  Progress* progress = nullptr;
};

la_ssize_t pipe_read(struct archive*, void* client, const void** buffer) {
  auto& pipe = *static_cast<Pipe*>(client);
  std::unique_lock lock(pipe.mutex);
  pipe.changed.wait(lock, [&] { return !pipe.chunks.empty() || pipe.finished; });
  if (pipe.chunks.empty()) {
    if (pipe.error) return -1;
    return 0;
  }
  pipe.current = std::move(pipe.chunks.front());
  pipe.chunks.pop_front();
  pipe.queued -= pipe.current.size();
  pipe.changed.notify_all();
  if (pipe.progress != nullptr) pipe.progress->add_bytes(pipe.current.size());
  *buffer = pipe.current.data();
  return static_cast<la_ssize_t>(pipe.current.size());
}

std::string archive_message(struct archive* a) {
  const char* text = archive_error_string(a);
  return text != nullptr ? text : "unknown libarchive error";
}

struct StagedEntry {
  IndexEntry entry;
  bool directory = false;
};

class Unpacker {
 public:
  Unpacker(const fs::path& destination, const UnpackOptions& options) : destination_(destination), options_(options) {}

  ~Unpacker() {
    if (!staging_.empty()) {
      std::error_code ec;
      fs::remove_all(staging_, ec);
    }
  }

  Status prepare() {
    AIRLOCK_TRY(make_directories(destination_));
    staging_ = temp_sibling(destination_ / "unpack");
    staging_ = destination_ / (".airlock-unpack-" + staging_.filename().string().substr(1));
    return make_directories(staging_);
  }

  const fs::path& staging() const { return staging_; }

  Status extract(struct archive* a) {
    struct archive_entry* header = nullptr;
    while (true) {
      int r = archive_read_next_header(a, &header);
      if (r == ARCHIVE_EOF) break;
      if (r == ARCHIVE_WARN) log::warn("{}: {}", options_.name, archive_message(a));
      if (r < ARCHIVE_WARN) return parse_error(fmt::format("{}: {}", options_.name, archive_message(a)));
      AIRLOCK_TRY(extract_entry(a, header));
    }
    return ok_status();
  }

  Result<PullSummary> finish() {
    std::vector<IndexEntry> entries;
    for (const auto& [path, staged] : staged_) {
      if (!staged.directory) entries.push_back(staged.entry);
    }
    AIRLOCK_TRY(validate_entries(entries, options_.name));
    PullSummary summary;
    summary.destination = destination_.string();
    if (index_text_) {
      AIRLOCK_ASSIGN_OR_RETURN(StoreIndex index,
                               parse_index(*index_text_, options_.name + ":" + std::string(kIndexKey)));
      summary.indexed = true;
      summary.verified = options_.verify == VerifyMode::kFull;
      std::map<std::string, const IndexEntry*> expected;
      for (const auto& e : index.entries) expected.emplace(e.path, &e);
      for (const auto& got : entries) {
        auto it = expected.find(got.path);
        if (it == expected.end()) {
          return Error(ErrorCode::kCorrupt,
                       fmt::format("{}: '{}' is in the archive but not in its index", options_.name, got.path));
        }
        const IndexEntry& want = *it->second;
        if (want.type != got.type || want.target != got.target || want.size != got.size) {
          return Error(
              ErrorCode::kCorrupt,
              fmt::format("{}: '{}' does not match the index (type, size or target differ)", options_.name, got.path));
        }
        if (summary.verified && want.sha256 != got.sha256) {
          return Error(ErrorCode::kCorrupt,
                       fmt::format("{}: '{}' is corrupt: the index says sha256 {}, the archive holds "
                                   "bytes hashing to {}",
                                   options_.name, got.path, want.sha256, got.sha256));
        }
        expected.erase(it);
      }
      if (!expected.empty()) {
        return Error(ErrorCode::kCorrupt,
                     fmt::format("{}: '{}' (and {} more) is in the index but missing from the archive", options_.name,
                                 expected.begin()->first, expected.size() - 1));
      }
    }
    // Everything passed: move the entries into place.
    for (const auto& [path, staged] : staged_) {
      AIRLOCK_ASSIGN_OR_RETURN(fs::path final_path, safe_join(destination_, path, "archive entry"));
      if (staged.directory) {
        AIRLOCK_TRY(make_directories(final_path));
        continue;
      }
      AIRLOCK_TRY(make_directories(final_path.parent_path()));
      const fs::path from = staging_ / path;
      struct stat st {};
      if (::lstat(final_path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        return Error(ErrorCode::kAlreadyExists,
                     fmt::format("{} is a directory, but the archive has a {} there", final_path.string(),
                                 staged.entry.type == EntryType::kFile ? "file" : "symlink"));
      }
      if (::rename(from.c_str(), final_path.c_str()) != 0) {
        return errno_error(fmt::format("cannot move {} into place", final_path.string()), errno);
      }
      if (staged.entry.type == EntryType::kFile) {
        ++summary.files;
        summary.bytes += staged.entry.size;
      } else {
        ++summary.symlinks;
      }
    }
    summary.fetched_files = summary.files;
    summary.fetched_bytes = summary.bytes;
    AIRLOCK_TRY(fsync_directory(destination_));
    return summary;
  }

 private:
  Status reject(std::string_view path, std::string_view why) const {
    return invalid_argument(fmt::format("{}: entry '{}' {}; nothing was unpacked", options_.name, path, why));
  }

  Status extract_entry(struct archive* a, struct archive_entry* header) {
    const char* raw_name = archive_entry_pathname_utf8(header);
    if (raw_name == nullptr) raw_name = archive_entry_pathname(header);
    if (raw_name == nullptr) return reject("(unnamed)", "has no name");
    std::string_view name = raw_name;
    while (name.starts_with("./")) name.remove_prefix(2);
    while (!name.empty() && name.back() == '/') name.remove_suffix(1);
    if (name.empty() || name == ".") return ok_status();
    std::string path(name);
    AIRLOCK_TRY(validate_relative_path(path, options_.name + ": archive entry"));
    if (archive_entry_hardlink(header) != nullptr) return reject(path, "is a hard link, which airlock does not unpack");
    if (staged_.count(path) > 0 && !(staged_[path].directory && archive_entry_filetype(header) == AE_IFDIR)) {
      return reject(path, "appears twice");
    }
    // Nothing may be unpacked below a file or a symlink of the archive.
    for (std::size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
      auto it = staged_.find(path.substr(0, slash));
      if (it != staged_.end() && !it->second.directory) {
        return reject(path, fmt::format("lies below '{}', which is a {}", it->first,
                                        it->second.entry.type == EntryType::kSymlink ? "symlink" : "file"));
      }
    }
    if (path == kIndexKey) {
      std::string text;
      AIRLOCK_TRY(read_data(a, path, [&](std::string_view bytes) -> Status {
        if (text.size() + bytes.size() > kMaxIndexBytes) return reject(path, "is larger than an index may be");
        text.append(bytes);
        return ok_status();
      }));
      index_text_ = std::move(text);
      return ok_status();
    }
    const fs::path target = staging_ / path;
    switch (archive_entry_filetype(header)) {
      case AE_IFDIR: {
        StagedEntry staged;
        staged.directory = true;
        staged.entry.path = path;
        staged_[path] = staged;
        return make_directories(target);
      }
      case AE_IFLNK: {
        const char* link = archive_entry_symlink(header);
        if (link == nullptr || *link == '\0') return reject(path, "is a symlink without a target");
        if (!symlink_target_stays_inside(path, link))
          return reject(path, fmt::format("is a symlink to '{}', outside the tree", link));
        AIRLOCK_TRY(make_directories(target.parent_path()));
        if (::symlink(link, target.c_str()) != 0) return errno_error("cannot create symlink " + target.string(), errno);
        StagedEntry staged;
        staged.entry.path = path;
        staged.entry.type = EntryType::kSymlink;
        staged.entry.target = link;
        staged_[path] = staged;
        return ok_status();
      }
      case AE_IFREG: {
        AIRLOCK_TRY(make_directories(target.parent_path()));
        int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0) return errno_error("cannot create " + target.string(), errno);
        Hasher hasher(HashAlgorithm::kSha256);
        std::uint64_t size = 0;
        Status status = read_data(a, path, [&](std::string_view bytes) -> Status {
          std::string_view rest = bytes;
          while (!rest.empty()) {
            ssize_t n = ::write(fd, rest.data(), rest.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return errno_error("cannot write " + target.string(), errno);
            rest.remove_prefix(static_cast<std::size_t>(n));
          }
          hasher.update(bytes);
          size += bytes.size();
          return ok_status();
        });
        if (status.ok() && ::fsync(fd) != 0) status = errno_error("cannot fsync " + target.string(), errno);
        ::close(fd);
        AIRLOCK_TRY(status);
        StagedEntry staged;
        staged.entry.path = path;
        staged.entry.type = EntryType::kFile;
        staged.entry.size = size;
        staged.entry.sha256 = hasher.finish_hex();
        staged_[path] = staged;
        return ok_status();
      }
      default:
        return reject(path, "is a device, FIFO or socket");
    }
  }

  Status read_data(struct archive* a, std::string_view path, const std::function<Status(std::string_view)>& sink) {
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    la_int64_t expected = 0;
    while (true) {
      int r = archive_read_data_block(a, &block, &size, &offset);
      if (r == ARCHIVE_EOF) return ok_status();
      if (r < ARCHIVE_WARN)
        return parse_error(fmt::format("{}: reading '{}': {}", options_.name, path, archive_message(a)));
      if (offset != expected) {
        // A sparse hole: the bytes in between are zeros.
        if (offset < expected) return reject(path, "has overlapping data blocks");
        std::string zeros(static_cast<std::size_t>(std::min<la_int64_t>(offset - expected, 1 << 20)), '\0');
        while (expected < offset) {
          std::size_t n =
              static_cast<std::size_t>(std::min<la_int64_t>(offset - expected, static_cast<la_int64_t>(zeros.size())));
          AIRLOCK_TRY(sink(std::string_view(zeros.data(), n)));
          expected += static_cast<la_int64_t>(n);
        }
      }
      AIRLOCK_TRY(sink(std::string_view(static_cast<const char*>(block), size)));
      expected += static_cast<la_int64_t>(size);
    }
  }

  fs::path destination_;
  UnpackOptions options_;
  fs::path staging_;
  std::map<std::string, StagedEntry> staged_;
  std::optional<std::string> index_text_;
};

struct ArchiveReadHandle {
  struct archive* a = archive_read_new();
  ~ArchiveReadHandle() { archive_read_free(a); }
};

}  // namespace

Result<PullSummary> unpack_archive(const ArchiveReader& reader, const fs::path& destination,
                                   const UnpackOptions& options) {
  const auto started = Clock::now();
  Unpacker unpacker(destination, options);
  AIRLOCK_TRY(unpacker.prepare());
  ArchiveReadHandle handle;
  archive_read_support_filter_all(handle.a);
  archive_read_support_format_tar(handle.a);
  archive_read_support_format_gnutar(handle.a);
  archive_read_support_format_zip(handle.a);
  Progress progress("unpacking", options.size_hint, 0, options.progress);

  Status status;
  if (is_zip_name(options.name)) {
    // A zip's directory is at its end: land the bytes in a file first, then read it with seeks.
    const fs::path zip = unpacker.staging().parent_path() / (unpacker.staging().filename().string() + ".zip");
    {
      AIRLOCK_ASSIGN_OR_RETURN(AtomicFileWriter writer, AtomicFileWriter::open(zip));
      AIRLOCK_TRY(reader([&](std::string_view bytes) -> Status {
        progress.add_bytes(bytes.size());
        return writer.write(bytes);
      }));
      AIRLOCK_TRY(writer.commit());
    }
    if (archive_read_open_filename(handle.a, zip.c_str(), 1 << 20) != ARCHIVE_OK) {
      status = parse_error(fmt::format("{}: {}", options.name, archive_message(handle.a)));
    } else {
      status = unpacker.extract(handle.a);
    }
    ::unlink(zip.c_str());
  } else {
    auto pipe = std::make_shared<Pipe>();
    pipe->progress = &progress;
    std::thread producer([pipe, &reader] {
      Status result = reader([&](std::string_view bytes) -> Status {
        std::unique_lock lock(pipe->mutex);
        pipe->changed.wait(lock, [&] { return pipe->queued < kPipeLimit || pipe->closed; });
        if (pipe->closed) return Error(ErrorCode::kCancelled, "unpacking stopped");
        pipe->chunks.emplace_back(bytes);
        pipe->queued += bytes.size();
        pipe->changed.notify_all();
        return ok_status();
      });
      std::lock_guard lock(pipe->mutex);
      if (!result.ok()) pipe->error = std::move(result).error();
      pipe->finished = true;
      pipe->changed.notify_all();
    });
    if (archive_read_open(handle.a, pipe.get(), nullptr, pipe_read, nullptr) != ARCHIVE_OK) {
      status = parse_error(fmt::format("{}: {}", options.name, archive_message(handle.a)));
    } else {
      status = unpacker.extract(handle.a);
    }
    {
      std::lock_guard lock(pipe->mutex);
      pipe->closed = true;
      pipe->changed.notify_all();
    }
    producer.join();
    // A failed download explains a broken archive better than libarchive's view of it.
    if (pipe->error && pipe->error->code() != ErrorCode::kCancelled) status = *pipe->error;
  }
  progress.finish();
  AIRLOCK_TRY(status);
  AIRLOCK_ASSIGN_OR_RETURN(PullSummary summary, unpacker.finish());
  summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return summary;
}

Result<PullSummary> pull_archive(store::Store& store, const std::string& key, const fs::path& destination,
                                 const PullOptions& options) {
  UnpackOptions unpack;
  unpack.verify = options.verify;
  unpack.progress = options.progress;
  unpack.name = key;
  if (auto info = store.stat(key); info.ok() && *info) unpack.size_hint = (*info)->size;
  ArchiveReader reader = [&](const store::ByteSink& sink) {
    store::ReadOptions read;
    read.cancel = options.cancel;
    return store.read(key, read, sink);
  };
  AIRLOCK_ASSIGN_OR_RETURN(PullSummary summary, unpack_archive(reader, destination, unpack));
  summary.source = store.display_uri() + key;
  if (!summary.indexed) {
    log::warn("{} carries no airlock index: unpacked without verification", summary.source);
  }
  return summary;
}

Result<PullSummary> unbundle(const fs::path& file, const fs::path& destination, const PullOptions& options) {
  store::FileStore folder(file.parent_path().empty() ? fs::path(".") : file.parent_path());
  AIRLOCK_ASSIGN_OR_RETURN(PullSummary summary, pull_archive(folder, file.filename().string(), destination, options));
  summary.source = file.string();
  return summary;
}

Json BundleSummary::to_json() const {
  Json json;
  json["source"] = source;
  json["file"] = file;
  json["files"] = files;
  json["symlinks"] = symlinks;
  json["bytes"] = bytes;
  json["archive_bytes"] = archive_bytes;
  json["zstd"] = zstd;
  json["seconds"] = seconds;
  return json;
}

std::string BundleSummary::to_text() const {
  return fmt::format("bundled {} into {}: {} files ({}), {} symlinks, index inside; archive {}{} in {}\n", source, file,
                     files, format_bytes(bytes), symlinks, format_bytes(archive_bytes), zstd ? " (zstd)" : "",
                     format_duration(std::chrono::duration<double>(seconds)));
}

namespace {

struct ArchiveWriteHandle {
  struct archive* a = archive_write_new();
  ~ArchiveWriteHandle() { archive_write_free(a); }
};

struct EntryHandle {
  struct archive_entry* e = archive_entry_new();
  ~EntryHandle() { archive_entry_free(e); }
};

}  // namespace

Result<BundleSummary> bundle(const fs::path& source, const fs::path& file, const BundleOptions& options) {
  const auto started = Clock::now();
  BundleSummary summary;
  summary.source = source.string();
  summary.file = file.string();
  const std::string name = file.filename().string();
  summary.zstd = options.zstd || name.ends_with(".zst") || name.ends_with(".tzst");

  ScanOptions scan_options;
  scan_options.follow_symlinks = options.follow_symlinks;
  AIRLOCK_ASSIGN_OR_RETURN(ScanResult scan, scan_tree(source, scan_options));
  // The bundle must not end up inside itself.
  std::error_code ec;
  const fs::path file_abs = fs::weakly_canonical(file, ec);
  std::vector<std::size_t> files;
  for (std::size_t i = 0; i < scan.entries.size(); ++i) {
    if (scan.entries[i].entry.type != EntryType::kFile) {
      ++summary.symlinks;
      continue;
    }
    if (fs::weakly_canonical(scan.entries[i].source, ec) == file_abs) {
      return invalid_argument(
          fmt::format("the bundle {} would be inside the tree it bundles; write it elsewhere", file.string()));
    }
    files.push_back(i);
    summary.bytes += scan.entries[i].entry.size;
  }
  summary.files = files.size();
  {
    Progress progress("hashing", summary.bytes, files.size(), options.progress);
    Status status = run_parallel(files.size(), options.jobs, options.cancel, [&](std::size_t n) -> Status {
      LocalEntry& local = scan.entries[files[n]];
      AIRLOCK_ASSIGN_OR_RETURN(local.entry.sha256,
                               hash_local_file(local.source, local.entry.size, &progress, options.cancel));
      progress.add_items(1);
      return ok_status();
    });
    progress.finish();
    AIRLOCK_TRY(status);
  }
  StoreIndex index;
  for (const auto& local : scan.entries) index.entries.push_back(local.entry);
  const std::string index_text = serialize_index(index);

  AIRLOCK_TRY(make_directories(file.parent_path().empty() ? fs::path(".") : file.parent_path()));
  const fs::path temp = temp_sibling(file);
  ArchiveWriteHandle handle;
  archive_write_set_format_pax_restricted(handle.a);
  if (summary.zstd) {
    if (archive_write_add_filter_zstd(handle.a) != ARCHIVE_OK) {
      return Error(ErrorCode::kUnsupported, "this libarchive has no zstd support: " + archive_message(handle.a));
    }
    std::string level = std::to_string(std::clamp(options.zstd_level, 1, 19));
    archive_write_set_filter_option(handle.a, "zstd", "compression-level", level.c_str());
  }
  if (archive_write_open_filename(handle.a, temp.c_str()) != ARCHIVE_OK) {
    return io_error(fmt::format("cannot create {}: {}", temp.string(), archive_message(handle.a)));
  }
  auto fail = [&](const Error& error) {
    archive_write_close(handle.a);
    ::unlink(temp.c_str());
    return error;
  };
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  {
    EntryHandle entry;
    archive_entry_set_pathname_utf8(entry.e, std::string(kIndexKey).c_str());
    archive_entry_set_filetype(entry.e, AE_IFREG);
    archive_entry_set_perm(entry.e, 0644);
    archive_entry_set_size(entry.e, static_cast<la_int64_t>(index_text.size()));
    archive_entry_set_mtime(entry.e, now, 0);
    if (archive_write_header(handle.a, entry.e) != ARCHIVE_OK ||
        archive_write_data(handle.a, index_text.data(), index_text.size()) !=
            static_cast<la_ssize_t>(index_text.size())) {
      return fail(io_error(fmt::format("writing {}: {}", file.string(), archive_message(handle.a))));
    }
  }
  Progress progress("bundling", summary.bytes, scan.entries.size(), options.progress);
  std::vector<char> buffer(1 << 20);
  for (const auto& local : scan.entries) {
    if (options.cancel && options.cancel->load()) return fail(Error(ErrorCode::kCancelled, "cancelled"));
    EntryHandle entry;
    archive_entry_set_pathname_utf8(entry.e, local.entry.path.c_str());
    archive_entry_set_mtime(entry.e, now, 0);
    if (local.entry.type == EntryType::kSymlink) {
      archive_entry_set_filetype(entry.e, AE_IFLNK);
      archive_entry_set_perm(entry.e, 0777);
      archive_entry_set_symlink_utf8(entry.e, local.entry.target.c_str());
      if (archive_write_header(handle.a, entry.e) != ARCHIVE_OK) {
        return fail(io_error(fmt::format("writing {}: {}", file.string(), archive_message(handle.a))));
      }
      progress.add_items(1);
      continue;
    }
    struct stat st {};
    const bool executable = ::stat(local.source.c_str(), &st) == 0 && (st.st_mode & S_IXUSR) != 0;
    archive_entry_set_filetype(entry.e, AE_IFREG);
    archive_entry_set_perm(entry.e, executable ? 0755 : 0644);
    archive_entry_set_size(entry.e, static_cast<la_int64_t>(local.entry.size));
    if (archive_write_header(handle.a, entry.e) != ARCHIVE_OK) {
      return fail(io_error(fmt::format("writing {}: {}", file.string(), archive_message(handle.a))));
    }
    int fd = ::open(local.source.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(errno_error("cannot open " + local.source.string(), errno));
    Hasher hasher(HashAlgorithm::kSha256);
    std::uint64_t total = 0;
    Status status;
    while (total < local.entry.size) {
      ssize_t n = ::read(fd, buffer.data(),
                         static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), local.entry.size - total)));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        status = io_error(fmt::format("{} shrank while being bundled", local.source.string()));
        break;
      }
      hasher.update(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
      if (archive_write_data(handle.a, buffer.data(), static_cast<std::size_t>(n)) != n) {
        status = io_error(fmt::format("writing {}: {}", file.string(), archive_message(handle.a)));
        break;
      }
      total += static_cast<std::uint64_t>(n);
      progress.add_bytes(static_cast<std::uint64_t>(n));
    }
    ::close(fd);
    if (!status.ok()) return fail(status.error());
    if (hasher.finish_hex() != local.entry.sha256) {
      return fail(io_error(fmt::format("{} changed while being bundled; run bundle again", local.source.string())));
    }
    progress.add_items(1);
  }
  progress.finish();
  if (archive_write_close(handle.a) != ARCHIVE_OK) {
    ::unlink(temp.c_str());
    return io_error(fmt::format("finishing {}: {}", file.string(), archive_message(handle.a)));
  }
  {
    int fd = ::open(temp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
  }
  if (::rename(temp.c_str(), file.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return errno_error("cannot move the bundle into place at " + file.string(), err);
  }
  AIRLOCK_TRY(fsync_directory(file.parent_path().empty() ? fs::path(".") : file.parent_path()));
  summary.archive_bytes = fs::file_size(file, ec);
  summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return summary;
}

}  // namespace airlock::sync
