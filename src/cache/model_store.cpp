#include "cache/model_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <system_error>
#include <vector>

#include "cache/content_digest.h"
#include "cache/hub_repo.h"
#include "core/file_io.h"
#include "core/paths.h"

namespace airlock::cache {
namespace fs = std::filesystem;
namespace {

// Copies `source` to `destination` through a temporary name, hashing on the way; the file takes
// its final name only when the hash matches.
Status copy_checked(const fs::path& source, const fs::path& destination, const RecordedFile& file, Progress& progress) {
  int fd = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("cannot open " + source.string(), errno);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  auto writer = AtomicFileWriter::open(destination);
  if (!writer.ok()) {
    ::close(fd);
    return writer.error();
  }
  ContentHasher hasher(DigestNeeds{});
  std::vector<std::uint8_t> buffer(4 << 20);
  while (true) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return errno_error("cannot read " + source.string(), err);
    }
    if (n == 0) break;
    std::span<const std::uint8_t> piece(buffer.data(), static_cast<std::size_t>(n));
    hasher.update(piece);
    if (Status written = writer->write(piece); !written.ok()) {
      ::close(fd);
      return written;
    }
    progress.add_bytes(piece.size());
  }
  ::close(fd);
  Expected expected{.size = file.size, .sha256 = file.sha256, .git_sha1 = std::nullopt, .blake3 = std::nullopt};
  std::string mismatch = describe_mismatch(expected, hasher.finish());
  if (!mismatch.empty()) {
    writer->abort();
    return Error(ErrorCode::kCorrupt, fmt::format("{} in the cache ({}) is corrupt: {}; run `airlock cache verify` and "
                                                  "download the profile again",
                                                  file.path, source.string(), mismatch));
  }
  return writer->commit();
}

}  // namespace

Result<ModelStoreResult> create_model_store(const CacheLayout& layout, const ProfileRecord& record, const fs::path& store,
                                            const ProgressOptions& progress_options) {
  AIRLOCK_TRY(make_directories(store));
  // Check every destination before writing any: a hostile record fails as a whole.
  std::vector<fs::path> destinations;
  for (const RecordedFile& file : record.files) {
    AIRLOCK_ASSIGN_OR_RETURN(fs::path destination, safe_join(store, file.path, "model store path"));
    destinations.push_back(std::move(destination));
  }
  ModelStoreResult result;
  Progress progress("create-model-store", record.total_size(), record.files.size(), progress_options);
  for (std::size_t i = 0; i < record.files.size(); ++i) {
    const RecordedFile& file = record.files[i];
    AIRLOCK_ASSIGN_OR_RETURN(auto entry, read_snapshot_entry(layout, file.repo, file.snapshot, file.file));
    if (!entry || !entry->present) {
      return not_found(fmt::format("{} of profile {} is missing from the cache ({}); run `airlock download-to-cache -p {}`",
                                   file.path, record.id, layout.relative(layout.snapshot_dir(file.repo, file.snapshot) / file.file),
                                   record.id));
    }
    const fs::path& destination = destinations[i];
    std::error_code ec;
    struct stat st {};
    if (::lstat(destination.c_str(), &st) == 0 && S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) == file.size) {
      auto digests = digest_file(destination, DigestNeeds{});
      if (digests.ok() && digests->sha256 == file.sha256) {
        ++result.unchanged;
        ++result.files;
        result.bytes += file.size;
        progress.add_bytes(file.size);
        progress.add_items(1);
        continue;
      }
    }
    if (::lstat(destination.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return invalid_argument(fmt::format("{} is a directory; the profile needs a file there", destination.string()));
    }
    AIRLOCK_TRY(copy_checked(entry->target, destination, file, progress));
    ++result.files;
    result.bytes += file.size;
    progress.add_items(1);
  }
  progress.finish();
  return result;
}

}  // namespace airlock::cache
