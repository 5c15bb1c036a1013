#include "cache/content_digest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <vector>

namespace airlock::cache {

DigestNeeds& DigestNeeds::merge(const DigestNeeds& other) {
  sha256 = sha256 || other.sha256;
  if (!git_sha1_size) git_sha1_size = other.git_sha1_size;
  blake3 = blake3 || other.blake3;
  return *this;
}

DigestNeeds Expected::needs() const {
  DigestNeeds needs;
  needs.sha256 = true;
  if (git_sha1) needs.git_sha1_size = size;
  needs.blake3 = blake3.has_value();
  return needs;
}

ContentHasher::ContentHasher(const DigestNeeds& needs) {
  if (needs.sha256) sha256_.emplace(HashAlgorithm::kSha256);
  if (needs.git_sha1_size) git_sha1_.emplace(git_blob_sha1_hasher(*needs.git_sha1_size));
  if (needs.blake3) blake3_.emplace();
}

void ContentHasher::update(std::span<const std::uint8_t> bytes) {
  size_ += bytes.size();
  if (sha256_) sha256_->update(bytes);
  if (git_sha1_) git_sha1_->update(bytes);
  if (blake3_) blake3_->update(bytes);
}

void ContentHasher::update(std::string_view bytes) {
  update(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

Digests ContentHasher::finish() {
  Digests out;
  out.size = size_;
  if (sha256_) out.sha256 = sha256_->finish_hex();
  if (git_sha1_) out.git_sha1 = git_sha1_->finish_hex();
  if (blake3_) out.blake3 = blake3_->finalize_hex();
  return out;
}

Result<Digests> digest_file(const std::filesystem::path& path, const DigestNeeds& needs) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("cannot open " + path.string(), errno);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  DigestNeeds effective = needs;
  if (effective.git_sha1_size) {
    // The header must carry the real size, whatever the caller expected.
    struct stat st {};
    if (::fstat(fd, &st) == 0) effective.git_sha1_size = static_cast<std::uint64_t>(st.st_size);
  }
  ContentHasher hasher(effective);
  std::vector<std::uint8_t> buffer(1 << 20);
  while (true) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return errno_error("cannot read " + path.string(), err);
    }
    if (n == 0) break;
    hasher.update(std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(n)));
  }
  ::close(fd);
  return hasher.finish();
}

std::string describe_mismatch(const Expected& expected, const Digests& actual) {
  if (expected.size && *expected.size != actual.size) {
    return fmt::format("size is {} bytes, expected {}", actual.size, *expected.size);
  }
  if (expected.sha256 && actual.sha256 && *expected.sha256 != *actual.sha256) {
    return fmt::format("sha256 is {}, expected {}", *actual.sha256, *expected.sha256);
  }
  if (expected.git_sha1 && actual.git_sha1 && *expected.git_sha1 != *actual.git_sha1) {
    return fmt::format("git blob sha1 is {}, expected {}", *actual.git_sha1, *expected.git_sha1);
  }
  if (expected.blake3 && actual.blake3 && *expected.blake3 != *actual.blake3) {
    return fmt::format("BLAKE3 is {}, expected {} (from checksums.blake3)", *actual.blake3, *expected.blake3);
  }
  return "";
}

}  // namespace airlock::cache
