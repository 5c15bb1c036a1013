#include "core/hash.h"

#include <gtest/gtest.h>

#include <string>

#include "core/hex.h"
#include "testing.h"

namespace airlock {
namespace {

TEST(Hash, Sha256KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Hash, IncrementalEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 100000; ++i) data += static_cast<char>(i * 31);
  Hasher hasher(HashAlgorithm::kSha256);
  for (std::size_t i = 0; i < data.size(); i += 7777) hasher.update(std::string_view(data).substr(i, 7777));
  EXPECT_EQ(hasher.finish_hex(), sha256_hex(data));
  // Reusable after finish.
  hasher.update("abc");
  EXPECT_EQ(hasher.finish_hex(), sha256_hex("abc"));
}

TEST(Hash, GitBlobSha1MatchesGit) {
  // `printf 'hello\n' | git hash-object --stdin`
  EXPECT_EQ(git_blob_sha1_hex("hello\n"), "ce013625030ba8dba906f756967f9e9ca394464a");
  // The empty blob every git user has seen.
  EXPECT_EQ(git_blob_sha1_hex(""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
  Hasher streamed = git_blob_sha1_hasher(6);
  streamed.update("hel");
  streamed.update("lo\n");
  EXPECT_EQ(streamed.finish_hex(), "ce013625030ba8dba906f756967f9e9ca394464a");
  EXPECT_EQ(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST(Hash, FileHashStreams) {
  testing::TempDir dir;
  std::string content(3 * 1024 * 1024 + 17, 'x');
  testing::write_text(dir / "f.bin", content);
  auto digest = sha256_file_hex(dir / "f.bin");
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(*digest, sha256_hex(content));
  auto missing = sha256_file_hex(dir / "missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST(Hash, HmacSha256MatchesRfc4231) {
  // RFC 4231, test case 2.
  std::string mac = hmac_sha256("Jefe", "what do ya want for nothing?");
  EXPECT_EQ(to_hex(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(mac.data()), mac.size())),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Hex, RoundTripAndErrors) {
  std::vector<std::uint8_t> bytes = {0x00, 0xab, 0xff, 0x10};
  EXPECT_EQ(to_hex(bytes), "00abff10");
  auto back = from_hex("00ABff10");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, bytes);
  EXPECT_FALSE(from_hex("abc").ok());
  EXPECT_FALSE(from_hex("zz").ok());
  EXPECT_TRUE(is_lower_hex(std::string(64, 'a'), 64));
  EXPECT_FALSE(is_lower_hex(std::string(64, 'A'), 64));
  EXPECT_FALSE(is_lower_hex("abc", 64));
}

}  // namespace
}  // namespace airlock
