#include "core/blake3.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/hex.h"

namespace airlock {
namespace {

// Domain flags of the compression function (spec §2.1, table 3).
constexpr std::uint32_t kChunkStart = 1u << 0;
constexpr std::uint32_t kChunkEnd = 1u << 1;
constexpr std::uint32_t kParent = 1u << 2;
constexpr std::uint32_t kRoot = 1u << 3;
constexpr std::uint32_t kKeyedHash = 1u << 4;
constexpr std::uint32_t kDeriveKeyContext = 1u << 5;
constexpr std::uint32_t kDeriveKeyMaterial = 1u << 6;

// The IV is SHA-256's (spec §2.1).
constexpr std::array<std::uint32_t, 8> kIv = {0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                                              0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};

// Message word permutation applied between rounds (spec §2.2, table 2).
constexpr std::array<std::size_t, 16> kPermutation = {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8};

inline std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

inline void g(std::array<std::uint32_t, 16>& s, std::size_t a, std::size_t b, std::size_t c, std::size_t d,
              std::uint32_t mx, std::uint32_t my) {
  s[a] = s[a] + s[b] + mx;
  s[d] = rotr(s[d] ^ s[a], 16);
  s[c] = s[c] + s[d];
  s[b] = rotr(s[b] ^ s[c], 12);
  s[a] = s[a] + s[b] + my;
  s[d] = rotr(s[d] ^ s[a], 8);
  s[c] = s[c] + s[d];
  s[b] = rotr(s[b] ^ s[c], 7);
}

inline void round_function(std::array<std::uint32_t, 16>& s, const std::array<std::uint32_t, 16>& m) {
  // Columns, then diagonals.
  g(s, 0, 4, 8, 12, m[0], m[1]);
  g(s, 1, 5, 9, 13, m[2], m[3]);
  g(s, 2, 6, 10, 14, m[4], m[5]);
  g(s, 3, 7, 11, 15, m[6], m[7]);
  g(s, 0, 5, 10, 15, m[8], m[9]);
  g(s, 1, 6, 11, 12, m[10], m[11]);
  g(s, 2, 7, 8, 13, m[12], m[13]);
  g(s, 3, 4, 9, 14, m[14], m[15]);
}

// The full 16-word output of the compression function (spec §2.2): the first 8 words are the
// chaining value; all 16 serve the extended output of the root.
std::array<std::uint32_t, 16> compress(const std::array<std::uint32_t, 8>& cv, const std::array<std::uint32_t, 16>& block,
                                       std::uint64_t counter, std::uint32_t block_len, std::uint32_t flags) {
  std::array<std::uint32_t, 16> s = {cv[0],  cv[1],  cv[2],  cv[3],  cv[4],  cv[5],
                                     cv[6],  cv[7],  kIv[0], kIv[1], kIv[2], kIv[3],
                                     static_cast<std::uint32_t>(counter), static_cast<std::uint32_t>(counter >> 32),
                                     block_len, flags};
  std::array<std::uint32_t, 16> m = block;
  for (int r = 0; r < 7; ++r) {
    round_function(s, m);
    if (r == 6) break;
    std::array<std::uint32_t, 16> permuted;
    for (std::size_t i = 0; i < 16; ++i) permuted[i] = m[kPermutation[i]];
    m = permuted;
  }
  for (std::size_t i = 0; i < 8; ++i) {
    s[i] ^= s[i + 8];
    s[i + 8] ^= cv[i];
  }
  return s;
}

inline std::uint32_t load_le32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

std::array<std::uint32_t, 16> block_words(const std::uint8_t* block) {
  std::array<std::uint32_t, 16> words;
  for (std::size_t i = 0; i < 16; ++i) words[i] = load_le32(block + 4 * i);
  return words;
}

std::array<std::uint32_t, 8> key_words(const std::uint8_t* key) {
  std::array<std::uint32_t, 8> words;
  for (std::size_t i = 0; i < 8; ++i) words[i] = load_le32(key + 4 * i);
  return words;
}

}  // namespace

std::array<std::uint32_t, 8> Blake3::Output::chaining_value() const {
  auto s = compress(input_cv, block_words, counter, block_len, flags);
  std::array<std::uint32_t, 8> cv;
  std::copy_n(s.begin(), 8, cv.begin());
  return cv;
}

void Blake3::Output::root_bytes(std::span<std::uint8_t> out) const {
  // Each output block is the root compression with an incrementing counter (spec §2.6).
  std::uint64_t output_block = 0;
  std::size_t written = 0;
  while (written < out.size()) {
    auto s = compress(input_cv, block_words, output_block, block_len, flags | kRoot);
    for (std::size_t i = 0; i < 16 && written < out.size(); ++i) {
      for (int b = 0; b < 4 && written < out.size(); ++b) {
        out[written++] = static_cast<std::uint8_t>(s[i] >> (8 * b));
      }
    }
    ++output_block;
  }
}

Blake3::Blake3() : Blake3(kIv, 0) {}

Blake3::Blake3(const std::array<std::uint32_t, 8>& key, std::uint32_t flags) : key_words_(key), flags_(flags) {
  cv_stack_.reserve(54);
  start_chunk(0);
}

Blake3 Blake3::keyed(std::span<const std::uint8_t, kKeyLen> key) { return Blake3(key_words(key.data()), kKeyedHash); }

Blake3 Blake3::derive_key(std::string_view context) {
  // The context string is hashed on its own first; its output keys the hasher of the material.
  Blake3 context_hasher(kIv, kDeriveKeyContext);
  context_hasher.update(context);
  std::array<std::uint8_t, kKeyLen> context_key;
  context_hasher.finalize(context_key);
  return Blake3(key_words(context_key.data()), kDeriveKeyMaterial);
}

void Blake3::reset() {
  cv_stack_.clear();
  start_chunk(0);
}

void Blake3::start_chunk(std::uint64_t counter) {
  chunk_ = ChunkState{};
  chunk_.cv = key_words_;
  chunk_.chunk_counter = counter;
  chunk_.flags = flags_;
}

void Blake3::chunk_update(std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    // A full block is compressed only once more input arrives: the chunk's last block must be
    // compressed with CHUNK_END (and maybe ROOT), which is known only at the end.
    if (chunk_.block_len == kBlockLen) {
      std::uint32_t flags = chunk_.flags | (chunk_.blocks_compressed == 0 ? kChunkStart : 0);
      auto s = compress(chunk_.cv, block_words(chunk_.block.data()), chunk_.chunk_counter, kBlockLen, flags);
      std::copy_n(s.begin(), 8, chunk_.cv.begin());
      ++chunk_.blocks_compressed;
      chunk_.block_len = 0;
    }
    std::size_t take = std::min<std::size_t>(kBlockLen - chunk_.block_len, bytes.size());
    std::memcpy(chunk_.block.data() + chunk_.block_len, bytes.data(), take);
    chunk_.block_len = static_cast<std::uint8_t>(chunk_.block_len + take);
    bytes = bytes.subspan(take);
  }
}

Blake3::Output Blake3::chunk_output() const {
  Output out;
  out.input_cv = chunk_.cv;
  std::array<std::uint8_t, kBlockLen> padded{};
  std::memcpy(padded.data(), chunk_.block.data(), chunk_.block_len);
  out.block_words = block_words(padded.data());
  out.counter = chunk_.chunk_counter;
  out.block_len = chunk_.block_len;
  out.flags = chunk_.flags | (chunk_.blocks_compressed == 0 ? kChunkStart : 0) | kChunkEnd;
  return out;
}

void Blake3::add_chunk_chaining_value(std::array<std::uint32_t, 8> cv, std::uint64_t total_chunks) {
  // Merge completed subtrees: each trailing zero bit of the chunk count closes one (spec §5.1.2).
  while ((total_chunks & 1) == 0) {
    Output parent;
    parent.input_cv = key_words_;
    const auto& left = cv_stack_.back();
    std::copy(left.begin(), left.end(), parent.block_words.begin());
    std::copy(cv.begin(), cv.end(), parent.block_words.begin() + 8);
    parent.counter = 0;
    parent.block_len = kBlockLen;
    parent.flags = flags_ | kParent;
    cv_stack_.pop_back();
    cv = parent.chaining_value();
    total_chunks >>= 1;
  }
  cv_stack_.push_back(cv);
}

void Blake3::update(std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    if (chunk_.len() == kChunkLen) {
      // The chunk is full and more input follows, so it is not the root: finish it.
      std::array<std::uint32_t, 8> cv = chunk_output().chaining_value();
      std::uint64_t total_chunks = chunk_.chunk_counter + 1;
      add_chunk_chaining_value(cv, total_chunks);
      start_chunk(total_chunks);
    }
    std::size_t take = std::min(kChunkLen - chunk_.len(), bytes.size());
    chunk_update(bytes.first(take));
    bytes = bytes.subspan(take);
  }
}

void Blake3::update(std::string_view bytes) {
  update(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

void Blake3::finalize(std::span<std::uint8_t> out) const {
  Output output = chunk_output();
  for (std::size_t i = cv_stack_.size(); i-- > 0;) {
    Output parent;
    parent.input_cv = key_words_;
    const auto& left = cv_stack_[i];
    auto right = output.chaining_value();
    std::copy(left.begin(), left.end(), parent.block_words.begin());
    std::copy(right.begin(), right.end(), parent.block_words.begin() + 8);
    parent.counter = 0;
    parent.block_len = kBlockLen;
    parent.flags = flags_ | kParent;
    output = parent;
  }
  output.root_bytes(out);
}

std::string Blake3::finalize_hex() const {
  std::array<std::uint8_t, kOutLen> out;
  finalize(out);
  return to_hex(out);
}

std::string blake3_hex(std::string_view bytes) {
  Blake3 hasher;
  hasher.update(bytes);
  return hasher.finalize_hex();
}

Result<std::string> blake3_file_hex(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("cannot open " + path.string(), errno);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  Blake3 hasher;
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
  return hasher.finalize_hex();
}

}  // namespace airlock
