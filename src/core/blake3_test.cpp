#include "core/blake3.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "core/file_io.h"
#include "core/hex.h"
#include "core/json.h"
#include "testing.h"

namespace airlock {
namespace {

// The official vectors' input: bytes 0, 1, ..., 250 repeating.
std::string vector_input(std::size_t length) {
  std::string input(length, '\0');
  for (std::size_t i = 0; i < length; ++i) input[i] = static_cast<char>(i % 251);
  return input;
}

constexpr std::string_view kKey = "whats the Elvish word for friend";
constexpr std::string_view kContext = "BLAKE3 2019-12-27 16:29:52 test vectors context";

std::string hash_hex(std::string_view mode, std::string_view input, std::size_t out_len, std::size_t piece = 0) {
  Blake3 hasher;
  if (mode == "keyed_hash") {
    std::array<std::uint8_t, 32> key;
    std::copy(kKey.begin(), kKey.end(), key.begin());
    hasher = Blake3::keyed(key);
  } else if (mode == "derive_key") {
    hasher = Blake3::derive_key(kContext);
  }
  if (piece == 0) {
    hasher.update(input);
  } else {
    for (std::size_t at = 0; at < input.size(); at += piece) hasher.update(input.substr(at, piece));
  }
  std::vector<std::uint8_t> out(out_len);
  hasher.finalize(out);
  return to_hex(out);
}

// A few published vectors (first 32 bytes), so that the test stands on its own.
TEST(Blake3, PublishedVectorsEmbedded) {
  struct Case {
    std::size_t length;
    const char* hash;
    const char* keyed;
    const char* derive;
  };
  const Case cases[] = {
      {0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
       "92b2b75604ed3c761f9d6f62392c8a9227ad0ea3f09573e783f1498a4ed60d26",
       "2cc39783c223154fea8dfb7c1b1660f2ac2dcbd1c1de8277b0b0dd39b7e50d7d"},
      {1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213",
       "6d7878dfff2f485635d39013278ae14f1454b8c0a3a2d34bc1ab38228a80c95b",
       "b3e2e340a117a499c6cf2398a19ee0d29cca2bb7404c73063382693bf66cb06c"},
      {1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7",
       "75c46f6f3d9eb4f55ecaaee480db732e6c2105546f1e675003687c31719c7ba4",
       "7356cd7720d5b66b6d0697eb3177d9f8d73a4a5c5e968896eb6a689684302706"},
      {1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444",
       "357dc55de0c7e382c900fd6e320acc04146be01db6a8ce7210b7189bd664ea69",
       "effaa245f065fbf82ac186839a249707c3bddf6d3fdda22d1b95a3c970379bcb"},
      {3072, "b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2",
       "044a0e7b172a312dc02a4c9a818c036ffa2776368d7f528268d2e6b5df191770",
       "050df97f8c2ead654d9bb3ab8c9178edcd902a32f8495949feadcc1e0480c46b"},
      {102400, "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085",
       "1c35d1a5811083fd7119f5d5d1ba027b4d01c0c6c49fb6ff2cf75393ea5db4a7",
       "4652cff7a3f385a6103b5c260fc1593e13c778dbe608efb092fe7ee69df6e9c6"},
  };
  for (const Case& c : cases) {
    std::string input = vector_input(c.length);
    EXPECT_EQ(hash_hex("hash", input, 32), c.hash) << c.length;
    EXPECT_EQ(hash_hex("keyed_hash", input, 32), c.keyed) << c.length;
    EXPECT_EQ(hash_hex("derive_key", input, 32), c.derive) << c.length;
    EXPECT_EQ(blake3_hex(input), c.hash) << c.length;
  }
}

std::optional<std::filesystem::path> vectors_file() {
  auto testdata = airlock::testing::shared_testdata();
  if (!testdata) return std::nullopt;
  auto path = *testdata / "blake3" / "test_vectors.json";
  if (!std::filesystem::exists(path)) return std::nullopt;
  return path;
}

// Every official vector, every mode, the full extended output, fed whole and in odd pieces.
TEST(Blake3, OfficialTestVectors) {
  auto path = vectors_file();
  if (!path) GTEST_SKIP() << "shared/testdata/blake3/test_vectors.json not found: the full BLAKE3 vector suite was skipped";
  auto json = read_json_file(*path);
  ASSERT_TRUE(json.ok()) << json.error().message();
  ASSERT_EQ((*json)["key"].get<std::string>(), kKey);
  ASSERT_EQ((*json)["context_string"].get<std::string>(), kContext);
  int checked = 0;
  for (const auto& c : (*json)["cases"]) {
    std::size_t length = c["input_len"].get<std::size_t>();
    std::string input = vector_input(length);
    for (const char* mode : {"hash", "keyed_hash", "derive_key"}) {
      std::string expected = c[mode].get<std::string>();
      EXPECT_EQ(hash_hex(mode, input, expected.size() / 2), expected) << mode << " " << length;
      EXPECT_EQ(hash_hex(mode, input, 32), expected.substr(0, 64)) << mode << " " << length;
      EXPECT_EQ(hash_hex(mode, input, expected.size() / 2, 37), expected) << mode << " " << length << " in pieces";
      ++checked;
    }
  }
  EXPECT_GE(checked, 100);
}

TEST(Blake3, FinalizeDoesNotConsumeAndResetRestarts) {
  Blake3 hasher;
  hasher.update(std::string_view("abc"));
  std::string first = hasher.finalize_hex();
  EXPECT_EQ(hasher.finalize_hex(), first);
  hasher.update(std::string_view("def"));
  EXPECT_EQ(hasher.finalize_hex(), blake3_hex("abcdef"));
  hasher.reset();
  EXPECT_EQ(hasher.finalize_hex(), blake3_hex(""));
}

TEST(Blake3, FileMatchesInMemory) {
  auto dir = std::filesystem::temp_directory_path() / ("airlock-blake3-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string input = vector_input(1024 * 1024 + 1025);
  ASSERT_TRUE(write_file_atomic(dir / "f", input).ok());
  auto hex = blake3_file_hex(dir / "f");
  ASSERT_TRUE(hex.ok());
  EXPECT_EQ(*hex, blake3_hex(input));
  EXPECT_FALSE(blake3_file_hex(dir / "missing").ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace airlock
