// The digests a cache checks file contents against, computed in one pass: sha256 (profile
// records, Hugging Face LFS etags), the git blob sha1 (Hugging Face's id for small files) and
// BLAKE3 (NGC's checksums.blake3). Downloads feed it as bytes arrive; verify feeds it from disk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/blake3.h"
#include "core/hash.h"
#include "core/result.h"

namespace airlock::cache {

// Which digests to compute. The git blob sha1 needs the size up front (it hashes a header).
struct DigestNeeds {
  bool sha256 = true;
  std::optional<std::uint64_t> git_sha1_size;
  bool blake3 = false;

  DigestNeeds& merge(const DigestNeeds& other);
};

struct Digests {
  std::uint64_t size = 0;
  std::optional<std::string> sha256;
  std::optional<std::string> git_sha1;
  std::optional<std::string> blake3;
};

// What the content must be; unset members are not checked.
struct Expected {
  std::optional<std::uint64_t> size;
  std::optional<std::string> sha256;
  std::optional<std::string> git_sha1;
  std::optional<std::string> blake3;

  DigestNeeds needs() const;  // sha256 always (records keep it), others when expected
};

class ContentHasher {
 public:
  explicit ContentHasher(const DigestNeeds& needs);
  void update(std::span<const std::uint8_t> bytes);
  void update(std::string_view bytes);
  std::uint64_t size() const { return size_; }
  Digests finish();

 private:
  std::optional<Hasher> sha256_;
  std::optional<Hasher> git_sha1_;
  std::optional<Blake3> blake3_;
  std::uint64_t size_ = 0;
};

// Reads a file once and computes what `needs` asks for.
Result<Digests> digest_file(const std::filesystem::path& path, const DigestNeeds& needs);

// "" when `actual` satisfies `expected`, else what differs, in words a person can act on
// ("sha256 is 12ab..., expected 34cd...").
std::string describe_mismatch(const Expected& expected, const Digests& actual);

}  // namespace airlock::cache
