// BLAKE3, written from its specification (github.com/BLAKE3-team/BLAKE3-specs, blake3.pdf):
// NGC model versions carry a `checksums.blake3` file (`<hex>  <relpath>` per line) and this is
// how those sums are checked. Portable code (no SIMD): correctness first, one pass over the bytes.
// All three modes (hash, keyed hash, derive key) and extended output are provided because the
// official test vectors exercise them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace airlock {

class Blake3 {
 public:
  static constexpr std::size_t kKeyLen = 32;
  static constexpr std::size_t kOutLen = 32;
  static constexpr std::size_t kBlockLen = 64;
  static constexpr std::size_t kChunkLen = 1024;

  // The default hash mode.
  Blake3();
  // Keyed hash mode (a MAC or PRF) with a 32-byte key.
  static Blake3 keyed(std::span<const std::uint8_t, kKeyLen> key);
  // Key derivation: `context` should be a hard-coded, globally unique string; the key material
  // is then fed with update().
  static Blake3 derive_key(std::string_view context);

  void update(std::span<const std::uint8_t> bytes);
  void update(std::string_view bytes);

  // Writes out.size() bytes of output (any length: BLAKE3 is an XOF). Does not change the state,
  // so more input may follow and finalize() may be called again.
  void finalize(std::span<std::uint8_t> out) const;
  // The default 32-byte output, lowercase hex.
  std::string finalize_hex() const;

  // Back to the empty input, keeping the mode and key.
  void reset();

 private:
  struct ChunkState {
    std::array<std::uint32_t, 8> cv{};
    std::uint64_t chunk_counter = 0;
    std::array<std::uint8_t, kBlockLen> block{};
    std::uint8_t block_len = 0;
    std::uint8_t blocks_compressed = 0;
    std::uint32_t flags = 0;

    std::size_t len() const { return kBlockLen * blocks_compressed + block_len; }
  };
  // What the last compression of a node needs, kept so that the root can be expanded.
  struct Output {
    std::array<std::uint32_t, 8> input_cv{};
    std::array<std::uint32_t, 16> block_words{};
    std::uint64_t counter = 0;
    std::uint32_t block_len = 0;
    std::uint32_t flags = 0;

    std::array<std::uint32_t, 8> chaining_value() const;
    void root_bytes(std::span<std::uint8_t> out) const;
  };

  Blake3(const std::array<std::uint32_t, 8>& key_words, std::uint32_t flags);
  void start_chunk(std::uint64_t counter);
  void chunk_update(std::span<const std::uint8_t> bytes);
  Output chunk_output() const;
  void add_chunk_chaining_value(std::array<std::uint32_t, 8> cv, std::uint64_t total_chunks);

  std::array<std::uint32_t, 8> key_words_{};
  std::uint32_t flags_ = 0;
  ChunkState chunk_;
  // At most 54 entries: one per level of a tree of 2^54 chunks (2^64 bytes).
  std::vector<std::array<std::uint32_t, 8>> cv_stack_;
};

// BLAKE3 of `bytes`, 32 bytes as lowercase hex.
std::string blake3_hex(std::string_view bytes);
// BLAKE3 of a file, streamed in large reads.
Result<std::string> blake3_file_hex(const std::filesystem::path& path);

}  // namespace airlock
