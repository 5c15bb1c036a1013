// Files written so that a crash never leaves a half-written file under its final name.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"

namespace airlock {

Result<std::string> read_file(const std::filesystem::path& path);
// Reads at most `limit` bytes; a larger file is a kResourceExhausted error naming the limit.
Result<std::string> read_file_limited(const std::filesystem::path& path, std::uint64_t limit);

// Writes `content` to a temporary file beside `path`, fsyncs it, renames it over `path` and
// fsyncs the directory. Creates parent directories.
Status write_file_atomic(const std::filesystem::path& path, std::string_view content);

Status fsync_directory(const std::filesystem::path& dir);
Status make_directories(const std::filesystem::path& dir);

// Streaming form of write_file_atomic: write() as bytes arrive, then commit(). Destroying an
// uncommitted writer removes the temporary file.
class AtomicFileWriter {
 public:
  static Result<AtomicFileWriter> open(const std::filesystem::path& path);
  AtomicFileWriter(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter& operator=(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();

  Status write(std::span<const std::uint8_t> bytes);
  Status write(std::string_view bytes);
  // fsync + rename into place + fsync of the directory.
  Status commit();
  void abort();

  const std::filesystem::path& temp_path() const { return temp_path_; }
  std::uint64_t bytes_written() const { return bytes_written_; }

 private:
  AtomicFileWriter(std::filesystem::path path, std::filesystem::path temp_path, int fd)
      : path_(std::move(path)), temp_path_(std::move(temp_path)), fd_(fd) {}

  std::filesystem::path path_;
  std::filesystem::path temp_path_;
  int fd_ = -1;
  std::uint64_t bytes_written_ = 0;
};

// A name for a temporary sibling of `path`: ".<name>.airlock-tmp.<pid>.<random>".
std::filesystem::path temp_sibling(const std::filesystem::path& path);

// Private temporary directories carry their creator's pid so that the next run can remove those
// whose process died without cleaning up (kill -9, a crash): under `parent`, the directories of
// this user named <prefix>F0-F1-... where field `pid_field` is a pid no process has. A pid in use
// (even reused by another program) keeps its directory. Returns how many were removed.
int remove_directories_of_dead_processes(const std::filesystem::path& parent, std::string_view prefix,
                                         std::size_t pid_field);

}  // namespace airlock
