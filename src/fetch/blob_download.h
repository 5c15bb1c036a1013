// One file's bytes, fetched into its partial file (`…incomplete`): large files in parallel
// ranges, hashed in order while the bytes arrive (out-of-order ranges wait in memory, bounded; what
// does not fit is read back once from the page cache), and resumable across runs: a `<partial>.parts`
// file records how far each range got, so a run killed with `kill -9` continues where it stopped.
// Checking the digests against what the file must be is the caller's job: the blob takes its final
// name only after that.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "cache/content_digest.h"
#include "core/progress.h"
#include "core/result.h"
#include "net/http_client.h"

namespace airlock::fetch {

enum class RangeSupport { kUnknown, kYes, kNo };

// Where to GET the bytes.
struct DownloadSource {
  std::string url;
  net::HttpHeaders headers;
  net::RequestSigner signer;              // credentials, added per attempt on the URL's own origin only
  std::vector<std::string> sensitive_headers;
  std::optional<std::uint64_t> size;      // known: ranges, resume and a length check are possible
  RangeSupport ranges = RangeSupport::kUnknown;
};

struct DownloadTuning {
  std::uint64_t chunk_size = 16u << 20;          // bytes per ranged request
  std::uint64_t parallel_threshold = 48u << 20;  // files up to this size go in one request
  int max_ranges_per_file = 8;                   // ranged requests of one file in flight
  std::size_t buffer_size = 256u << 10;          // bytes per write, per hashed piece and per resume step
  std::uint64_t max_pending_bytes = 256u << 20;  // out-of-order bytes held for hashing, per file
  // fdatasync before the file is handed back. Off by default, as in huggingface_hub, aria2 and
  // curl: a blob is renamed into place only after its hash matched, and `cache verify` finds
  // what a power loss may have spoiled.
  bool sync = false;
};

struct DownloadOutcome {
  cache::Digests digests;
  std::uint64_t transferred = 0;  // body bytes received in this run
  std::uint64_t reused = 0;       // bytes kept from an earlier, interrupted run
  int requests = 0;
};

// Fetches `source` into `partial`. On success the file holds exactly the object's bytes and
// `digests` describe it; on failure `partial` and its state stay for the next run to resume.
// Errors: those of the HTTP client, kCorrupt when the server sends other than what it promised
// (length, range), kUnsupported when it turns out to ignore Range mid-way (call again with
// ranges = kNo after discard_partial).
Result<DownloadOutcome> download_to_partial(net::HttpClient& client, const DownloadSource& source,
                                            const std::filesystem::path& partial, const cache::DigestNeeds& needs,
                                            const DownloadTuning& tuning, Progress* progress);

// Removes a partial file and its state (after a failed check, or once the blob is in place).
void discard_partial(const std::filesystem::path& partial);
// Removes only the state file (the partial file was renamed into blobs/).
void discard_partial_state(const std::filesystem::path& partial);
// Bytes an earlier run left in `partial` that a resume with `tuning` would keep (0 without a
// matching state).
std::uint64_t resumable_bytes(const std::filesystem::path& partial, std::uint64_t size, const DownloadTuning& tuning);

}  // namespace airlock::fetch
