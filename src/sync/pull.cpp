#include "sync/pull.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <mutex>

#include "core/file_io.h"
#include "core/file_lock.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/units.h"
#include "sync/tree_scan.h"

namespace airlock::sync {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
// Writes of 64 KiB: small network reads are gathered (one write per 16 KiB chunk costs more
// system time than the copy), but not into megabyte writes, which on the test machines (Linux
// 6.x, ext4 with large folios) cost several times more system time per byte than 64 KiB ones.
constexpr std::size_t kWriteBatch = 64 << 10;
constexpr std::size_t kSlice = 64 << 10;

struct Counters {
  std::mutex mutex;
  std::size_t fetched_files = 0;
  std::uint64_t fetched_bytes = 0;
  std::size_t resumed_files = 0;
  std::size_t up_to_date = 0;
  std::size_t refetched = 0;
};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

Status write_all(int fd, std::string_view bytes, std::uint64_t offset, const fs::path& path) {
  while (!bytes.empty()) {
    ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return Error(errno == ENOSPC ? ErrorCode::kResourceExhausted : ErrorCode::kIo,
                   fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return ok_status();
}

// Hashes the first `length` bytes of an open file (a partial download being resumed).
Status hash_prefix(int fd, std::uint64_t length, Hasher& hasher, const fs::path& path) {
  std::vector<char> buffer(1 << 20);
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

bool is_regular_of_size(const fs::path& path, std::uint64_t size) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) == size;
}

class Puller {
 public:
  Puller(store::Store& store, const fs::path& destination, const PullOptions& options, Progress& progress,
         Counters& counters)
      : store_(store), destination_(destination), options_(options), progress_(progress), counters_(counters) {}

  // Whether the local file at `path` already holds the entry.
  Result<bool> up_to_date(const IndexEntry& entry, const fs::path& path) {
    if (!is_regular_of_size(path, entry.size)) return false;
    if (options_.verify == VerifyMode::kSize || entry.sha256.empty()) return true;
    AIRLOCK_ASSIGN_OR_RETURN(std::string local, hash_local_file(path, entry.size, nullptr, options_.cancel));
    return local == entry.sha256;
  }

  Status fetch(const IndexEntry& entry, const fs::path& path) {
    AIRLOCK_ASSIGN_OR_RETURN(bool current, up_to_date(entry, path));
    if (current) {
      progress_.add_bytes(entry.size);
      progress_.add_items(1);
      std::lock_guard lock(counters_.mutex);
      ++counters_.up_to_date;
      return ok_status();
    }
    AIRLOCK_TRY(make_directories(path.parent_path()));
    const fs::path partial = partial_path_for(path);
    // Another pull into the same tree waits here rather than writing the same partial file.
    AIRLOCK_ASSIGN_OR_RETURN(FileLock lock, FileLock::acquire(partial));
    AIRLOCK_ASSIGN_OR_RETURN(current, up_to_date(entry, path));
    if (current) {
      progress_.add_bytes(entry.size);
      progress_.add_items(1);
      ::unlink(partial.c_str());
      return ok_status();
    }
    const bool check_hash = options_.verify == VerifyMode::kFull && !entry.sha256.empty();
    std::string first_digest;
    // Set when the server turned out to ignore Range requests: the object is then read whole,
    // from the start, in one stream.
    bool whole = false;
    for (int attempt = 0; attempt < 2; ++attempt) {
      Fd fd(::open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
      if (fd.get() < 0) return errno_error("cannot open " + partial.string(), errno);
      struct stat st {};
      if (::fstat(fd.get(), &st) != 0) return errno_error("cannot stat " + partial.string(), errno);
      std::uint64_t offset = static_cast<std::uint64_t>(st.st_size);
      Hasher hasher(HashAlgorithm::kSha256);
      if (attempt > 0 || whole || offset > entry.size) offset = 0;
      if (offset > 0) {
        // Continue an interrupted download: its bytes were checked as they arrived, but were
        // not yet hashed in this process.
        if (check_hash) AIRLOCK_TRY(hash_prefix(fd.get(), offset, hasher, partial));
        std::lock_guard guard(counters_.mutex);
        ++counters_.resumed_files;
      }
      if (::ftruncate(fd.get(), static_cast<off_t>(offset)) != 0)
        return errno_error("cannot truncate " + partial.string(), errno);
      progress_.add_bytes(offset);
      std::uint64_t written = offset;
      if (offset < entry.size) {
        store::ReadOptions read;
        if (!whole) read.range = store::ByteRange{offset, entry.size - offset};
        read.size = entry.size;
        read.parallel = whole ? 1 : options_.part_parallel;
        read.part_size = options_.part_size;
        read.cancel = options_.cancel;
        // Whatever was received is written before an error returns, so a rerun continues there.
        std::string pending;
        pending.reserve(kWriteBatch);
        std::uint64_t flushed = offset;
        auto flush = [&]() -> Status {
          if (pending.empty()) return ok_status();
          AIRLOCK_TRY(write_all(fd.get(), pending, flushed, partial));
          flushed += pending.size();
          pending.clear();
          return ok_status();
        };
        Status status = store_.read(entry.path, read, [&](std::string_view bytes) -> Status {
          if (written + bytes.size() > entry.size) {
            return Error(ErrorCode::kCorrupt, fmt::format("{}: the store sent more than the {} bytes the index gives",
                                                          entry.path, entry.size));
          }
          written += bytes.size();
          progress_.add_bytes(bytes.size());
          if (pending.empty() && bytes.size() >= kWriteBatch) {
            // A whole part: hash and write it a slice at a time, each slice still in the CPU
            // cache when it is copied into the page cache.
            for (std::size_t at = 0; at < bytes.size(); at += kSlice) {
              std::string_view slice = bytes.substr(at, kSlice);
              if (check_hash) hasher.update(slice);
              AIRLOCK_TRY(write_all(fd.get(), slice, flushed, partial));
              flushed += slice.size();
            }
            return ok_status();
          }
          if (check_hash) hasher.update(bytes);
          pending.append(bytes);
          if (pending.size() >= kWriteBatch) return flush();
          return ok_status();
        });
        Status flushed_status = flush();
        if (!status.ok() && status.error().code() == ErrorCode::kUnsupported && !whole &&
            !(options_.cancel && options_.cancel->load())) {
          log::warn("{}: {}; reading it whole from the start instead", entry.path, status.error().message());
          whole = true;
          progress_.add_total_bytes(written);
          --attempt;  // not a corrupt copy: the same attempt again
          continue;
        }
        if (!status.ok()) return status.error().with_context("fetching " + entry.path);
        AIRLOCK_TRY(flushed_status);
      }
      if (written != entry.size) {
        return Error(ErrorCode::kCorrupt,
                     fmt::format("{}: the store sent {} bytes, the index says {}", entry.path, written, entry.size));
      }
      if (check_hash) {
        std::string digest = hasher.finish_hex();
        if (digest != entry.sha256) {
          if (attempt == 0) {
            log::error("corrupt: {}: the index says sha256 {}, the bytes received hash to {}; fetching it once more",
                       entry.path, entry.sha256, digest);
            first_digest = digest;
            if (::ftruncate(fd.get(), 0) != 0) return errno_error("cannot truncate " + partial.string(), errno);
            progress_.add_total_bytes(entry.size);
            std::lock_guard guard(counters_.mutex);
            ++counters_.refetched;
            continue;
          }
          ::unlink(partial.c_str());
          return Error(ErrorCode::kCorrupt,
                       fmt::format("{} in {} is corrupt: the index says sha256 {}, the store sent bytes hashing to {} "
                                   "(and {} the first time); nothing was accepted. Push the file again",
                                   entry.path, store_.display_uri(), entry.sha256, digest, first_digest));
        }
      }
      // On disk before it takes its name: after a crash a file under its final name is whole.
      if (::fsync(fd.get()) != 0) return errno_error("cannot fsync " + partial.string(), errno);
      if (::rename(partial.c_str(), path.c_str()) != 0) {
        return errno_error(fmt::format("cannot move {} into place at {}", partial.string(), path.string()), errno);
      }
      progress_.add_items(1);
      std::lock_guard guard(counters_.mutex);
      ++counters_.fetched_files;
      counters_.fetched_bytes += entry.size - offset;
      return ok_status();
    }
    return internal_error("unreachable");
  }

 private:
  store::Store& store_;
  fs::path destination_;
  const PullOptions& options_;
  Progress& progress_;
  Counters& counters_;
};

Status make_symlink(const IndexEntry& entry, const fs::path& path) {
  std::error_code ec;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode) && fs::read_symlink(path, ec).string() == entry.target) return ok_status();
    if (S_ISDIR(st.st_mode)) {
      return Error(ErrorCode::kAlreadyExists,
                   fmt::format("{} is a directory here but a symlink in the store; move it away first", path.string()));
    }
  }
  AIRLOCK_TRY(make_directories(path.parent_path()));
  const fs::path temp = temp_sibling(path);
  if (::symlink(entry.target.c_str(), temp.c_str()) != 0)
    return errno_error("cannot create symlink " + temp.string(), errno);
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return errno_error("cannot move symlink into place at " + path.string(), err);
  }
  return ok_status();
}

}  // namespace

Result<VerifyMode> parse_verify_mode(std::string_view text) {
  if (text == "full") return VerifyMode::kFull;
  if (text == "size") return VerifyMode::kSize;
  return invalid_argument(fmt::format("--verify '{}' must be full or size", text));
}

Json PullSummary::to_json() const {
  Json json;
  json["source"] = source;
  json["destination"] = destination;
  json["indexed"] = indexed;
  json["verified"] = verified;
  json["files"] = files;
  json["symlinks"] = symlinks;
  json["bytes"] = bytes;
  json["fetched_files"] = fetched_files;
  json["fetched_bytes"] = fetched_bytes;
  json["resumed_files"] = resumed_files;
  json["up_to_date_files"] = up_to_date_files;
  json["refetched_corrupt"] = refetched_corrupt;
  json["seconds"] = seconds;
  json["megabytes_per_second"] = seconds > 0 ? static_cast<double>(fetched_bytes) / 1e6 / seconds : 0.0;
  return json;
}

std::string PullSummary::to_text() const {
  std::string out =
      fmt::format("pulled {} into {}: {} files ({}), {} fetched ({}), {} already there, {} symlinks; {} ({})\n", source,
                  destination, files, format_bytes(bytes), fetched_files, format_bytes(fetched_bytes), up_to_date_files,
                  symlinks, format_duration(std::chrono::duration<double>(seconds)),
                  format_rate(seconds > 0 ? static_cast<double>(fetched_bytes) / seconds : 0.0));
  if (resumed_files > 0) out += fmt::format("continued {} interrupted downloads\n", resumed_files);
  if (refetched_corrupt > 0)
    out += fmt::format("{} objects arrived corrupt once and were fetched again\n", refetched_corrupt);
  if (!indexed) {
    out +=
        "UNVERIFIED: the store has no index (.airlock/index.json), so it was pulled as a plain tree and no hash was "
        "checked; push it with airlock for verified pulls\n";
  } else if (verified) {
    out += "verified: every file matches the sha256 in the store index\n";
  } else {
    out += "sizes checked (--verify=size); sha256 not checked\n";
  }
  return out;
}

Result<PullSummary> pull(store::Store& store, const fs::path& destination, const PullOptions& options) {
  const auto started = Clock::now();
  PullSummary summary;
  summary.source = store.display_uri();
  summary.destination = destination.string();

  AIRLOCK_ASSIGN_OR_RETURN(std::optional<StoreIndex> index, read_store_index(store));
  std::vector<IndexEntry> entries;
  if (index) {
    summary.indexed = true;
    summary.verified = options.verify == VerifyMode::kFull;
    entries = std::move(index->entries);
  } else {
    if (!store.capabilities().list) {
      return not_found(
          fmt::format("{} has no index ({}) and cannot be listed: it was not pushed by airlock, or the "
                      "push did not finish",
                      store.display_uri(), kIndexKey));
    }
    AIRLOCK_ASSIGN_OR_RETURN(std::vector<store::ObjectInfo> objects, store.list_all(""));
    for (auto& object : objects) {
      IndexEntry entry;
      entry.path = object.key;
      if (object.symlink_target) {
        entry.type = EntryType::kSymlink;
        entry.target = *object.symlink_target;
      } else {
        entry.size = object.size;
      }
      entries.push_back(std::move(entry));
    }
    if (entries.empty()) {
      return not_found(fmt::format("{} holds nothing: no index and no objects under this prefix", store.display_uri()));
    }
    // Keys come from outside just as an index does: the same checks, before anything is written.
    AIRLOCK_TRY(validate_entries(entries, store.display_uri() + " (listing)"));
    log::warn("{} has no index: pulling it as a plain tree; nothing will be verified", store.display_uri());
  }

  // Every destination path is checked before the first byte is written.
  std::vector<fs::path> paths;
  paths.reserve(entries.size());
  for (const auto& entry : entries) {
    AIRLOCK_ASSIGN_OR_RETURN(fs::path path, safe_join(destination, entry.path, "store entry"));
    paths.push_back(std::move(path));
    if (entry.type == EntryType::kFile) {
      ++summary.files;
      summary.bytes += entry.size;
    } else {
      ++summary.symlinks;
    }
  }
  AIRLOCK_TRY(make_directories(destination));

  std::vector<std::size_t> files;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].type == EntryType::kFile) files.push_back(i);
  }
  std::stable_sort(files.begin(), files.end(),
                   [&](std::size_t a, std::size_t b) { return entries[a].size > entries[b].size; });
  Counters counters;
  {
    Progress progress("pulling", summary.bytes, files.size(), options.progress);
    Puller puller(store, destination, options, progress, counters);
    Status status = run_parallel(files.size(), options.jobs, options.cancel,
                                 [&](std::size_t n) { return puller.fetch(entries[files[n]], paths[files[n]]); });
    progress.finish();
    AIRLOCK_TRY(status);
  }
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].type == EntryType::kSymlink) AIRLOCK_TRY(make_symlink(entries[i], paths[i]));
  }
  AIRLOCK_TRY(fsync_directory(destination));
  summary.fetched_files = counters.fetched_files;
  summary.fetched_bytes = counters.fetched_bytes;
  summary.resumed_files = counters.resumed_files;
  summary.up_to_date_files = counters.up_to_date;
  summary.refetched_corrupt = counters.refetched;
  summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return summary;
}

}  // namespace airlock::sync
