// download_to_partial against tests/servers/http_test_server.py: whole and ranged downloads hashed
// as they arrive, broken bodies, servers that ignore Range, and resume across runs.
#include "fetch/blob_download.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/hash.h"
#include "testing.h"

namespace airlock::fetch {
namespace {
namespace fs = std::filesystem;

// The /bytes pattern of the test server (see its pattern_block()).
std::string pattern(std::uint64_t seed, std::uint64_t length) {
  constexpr std::size_t kPeriod = 65521;
  std::uint64_t x = (seed * 2654435761ULL + 1) & 0xFFFFFFFFULL;
  std::string block(kPeriod, '\0');
  for (std::size_t i = 0; i < kPeriod; ++i) {
    x = (x * 1103515245ULL + 12345ULL) & 0x7FFFFFFFULL;
    block[i] = static_cast<char>((x >> 16) & 0xFF);
  }
  std::string out;
  out.reserve(length);
  while (out.size() < length) out.append(block, 0, std::min<std::uint64_t>(kPeriod, length - out.size()));
  return out;
}

class BlobDownload : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.start({"python3", (testing::project_root() / "tests/servers/http_test_server.py").string()}))
        << server_.last_output();
    net::HttpClientOptions options;
    options.base_backoff = std::chrono::milliseconds(5);
    options.max_backoff = std::chrono::milliseconds(50);
    options.max_retries = 3;
    auto client = net::HttpClient::create(options);
    ASSERT_TRUE(client.ok());
    client_ = std::move(client).value();
    tuning_.chunk_size = 256 << 10;
    tuning_.parallel_threshold = 512 << 10;
    tuning_.max_ranges_per_file = 4;
    tuning_.buffer_size = 16 << 10;
    tuning_.max_pending_bytes = 128 << 10;  // small, so that spilling and reading back is exercised
    tuning_.sync = false;
  }

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(server_.port()) + path; }

  Result<DownloadOutcome> get(const std::string& path, std::optional<std::uint64_t> size,
                              RangeSupport ranges = RangeSupport::kUnknown) {
    DownloadSource source;
    source.url = url(path);
    source.size = size;
    source.ranges = ranges;
    return download_to_partial(*client_, source, partial(), cache::DigestNeeds{}, tuning_, nullptr);
  }

  fs::path partial() const { return dir_ / "blob.incomplete"; }

  testing::TempDir dir_;
  testing::ServerProcess server_;
  std::unique_ptr<net::HttpClient> client_;
  DownloadTuning tuning_;
};

TEST_F(BlobDownload, SmallFileInOneRequest) {
  auto outcome = get("/bytes/100000?seed=3", 100000);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message();
  EXPECT_EQ(outcome->requests, 1);
  EXPECT_EQ(outcome->digests.size, 100000u);
  EXPECT_EQ(outcome->digests.sha256.value_or(""), sha256_hex(pattern(3, 100000)));
  EXPECT_EQ(testing::read_text(partial()), pattern(3, 100000));
}

TEST_F(BlobDownload, LargeFileInParallelRangesHashedInOrder) {
  const std::uint64_t size = 3 * 1024 * 1024 + 12345;
  cache::DigestNeeds needs;
  needs.blake3 = true;
  needs.git_sha1_size = size;
  DownloadSource source;
  source.url = url("/bytes/" + std::to_string(size) + "?seed=5");
  source.size = size;
  auto outcome = download_to_partial(*client_, source, partial(), needs, tuning_, nullptr);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message();
  EXPECT_EQ(outcome->requests, 13);  // ceil(size / 256 KiB)
  std::string expected = pattern(5, size);
  EXPECT_EQ(outcome->digests.sha256.value_or(""), sha256_hex(expected));
  EXPECT_EQ(outcome->digests.git_sha1.value_or(""), git_blob_sha1_hex(expected));
  EXPECT_TRUE(outcome->digests.blake3.has_value());
  EXPECT_EQ(outcome->transferred, size);
  EXPECT_EQ(testing::read_text(partial()), expected);
}

TEST_F(BlobDownload, UnknownSizeStreamsOnce) {
  auto outcome = get("/bytes/700000?seed=2&no_length=1", std::nullopt);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message();
  EXPECT_EQ(outcome->digests.sha256.value_or(""), sha256_hex(pattern(2, 700000)));
}

TEST_F(BlobDownload, BrokenBodiesAreContinued) {
  auto outcome = get("/bytes/2000000?seed=4&key=broken&drop_after=300000&drop_times=3", 2000000);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message();
  EXPECT_EQ(outcome->digests.sha256.value_or(""), sha256_hex(pattern(4, 2000000)));
}

TEST_F(BlobDownload, ServerIgnoringRangesIsDetected) {
  // The first ranged request is answered properly, the later ones with the whole body.
  auto refused = get("/bytes/1500000?seed=6&key=ignore&ignore_range=1", 1500000);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnsupported) << refused.error().message();
  discard_partial(partial());
  auto whole = get("/bytes/1500000?seed=6&key=ignore&ignore_range=1", 1500000, RangeSupport::kNo);
  ASSERT_TRUE(whole.ok()) << whole.error().message();
  EXPECT_EQ(whole->digests.sha256.value_or(""), sha256_hex(pattern(6, 1500000)));
}

TEST_F(BlobDownload, WrongContentRangeIsCorrupt) {
  auto outcome = get("/bytes/1500000?seed=6&key=shift&range_shift=10", 1500000);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code(), ErrorCode::kCorrupt) << outcome.error().message();
}

TEST_F(BlobDownload, InterruptedRunIsResumedFromItsState) {
  const std::uint64_t size = 2 * 1024 * 1024;
  net::HttpClientOptions strict;
  strict.max_retries = 0;  // the break ends this "run"
  auto fragile = net::HttpClient::create(strict);
  ASSERT_TRUE(fragile.ok());
  DownloadSource source;
  source.url = url("/bytes/" + std::to_string(size) + "?seed=7&key=resume&drop_after=200000");
  source.size = size;
  auto first = download_to_partial(**fragile, source, partial(), cache::DigestNeeds{}, tuning_, nullptr);
  ASSERT_FALSE(first.ok());
  std::uint64_t kept = resumable_bytes(partial(), size, tuning_);
  EXPECT_GE(kept, 150000u);
  EXPECT_LT(kept, size);

  auto second = get("/bytes/" + std::to_string(size) + "?seed=7&key=resume&drop_after=200000", size);
  ASSERT_TRUE(second.ok()) << second.error().message();
  EXPECT_EQ(second->reused, kept);
  EXPECT_EQ(second->transferred, size - kept);
  EXPECT_EQ(second->digests.sha256.value_or(""), sha256_hex(pattern(7, size)));
  discard_partial_state(partial());
  EXPECT_EQ(resumable_bytes(partial(), size, tuning_), 0u);
}

TEST_F(BlobDownload, ChangedObjectIsNotStitchedTogether) {
  const std::uint64_t size = 2 * 1024 * 1024;
  net::HttpClientOptions strict;
  strict.max_retries = 0;
  auto fragile = net::HttpClient::create(strict);
  ASSERT_TRUE(fragile.ok());
  DownloadSource source;
  source.url = url("/bytes/" + std::to_string(size) + "?seed=8&key=changes&etag_changes=1&drop_after=200000");
  source.size = size;
  ASSERT_FALSE(download_to_partial(**fragile, source, partial(), cache::DigestNeeds{}, tuning_, nullptr).ok());
  auto second = get("/bytes/" + std::to_string(size) + "?seed=8&key=changes&etag_changes=1", size);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), ErrorCode::kCorrupt) << second.error().message();
}

}  // namespace
}  // namespace airlock::fetch
