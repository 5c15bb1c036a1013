// Hashes over streams of bytes: sha256 (OpenSSL, which uses SHA-NI where the CPU has it) and
// the git blob sha1 that Hugging Face uses as the id of small (non-LFS) files.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"

namespace airlock {

enum class HashAlgorithm { kSha256, kSha1 };

// Incremental hasher. Feed bytes as they arrive (no second read of a file), then finish().
class Hasher {
 public:
  explicit Hasher(HashAlgorithm algorithm);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void update(std::span<const std::uint8_t> bytes);
  void update(std::string_view bytes);
  // Lowercase hex digest. The hasher is reset afterwards and can be reused.
  std::string finish_hex();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string sha256_hex(std::string_view bytes);
std::string sha1_hex(std::string_view bytes);

// sha1 of "blob <size>\0" + content: git's object id for a file.
std::string git_blob_sha1_hex(std::string_view content);
// Starts a git blob sha1 for a file of `size` bytes; feed the content with update().
Hasher git_blob_sha1_hasher(std::uint64_t size);

// Hashes a file by streaming it in large reads.
Result<std::string> sha256_file_hex(const std::filesystem::path& path);

// HMAC-SHA256 of `data` keyed with `key`, as the raw 32 bytes (request signers chain these:
// SigV4's signing key, Azure SharedKey).
std::string hmac_sha256(std::string_view key, std::string_view data);

}  // namespace airlock
