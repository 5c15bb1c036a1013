// Object-store sources of download-to-cache (s3://bucket/key, and whatever other backend
// store_factory.h opens): the stores of the sources' folders, opened once and shared by the
// run's threads; what an object is (size, ETag, the sha256 airlock stored with it on push); and
// one object's bytes into its partial file, hashed while they arrive and continued after an
// interruption when the object has not changed since.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "cache/content_digest.h"
#include "core/progress.h"
#include "core/result.h"
#include "fetch/blob_download.h"
#include "fetch/source_uri.h"
#include "store/store.h"
#include "store/store_factory.h"

namespace airlock::fetch {

// The stores a run reads from, one per source folder, opened on first use. Thread-safe.
class SourceStores {
 public:
  explicit SourceStores(store::StoreConfig config) : config_(std::move(config)) {}

  Result<store::Store*> open(const SourceRef& source);

 private:
  store::StoreConfig config_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<store::Store>> stores_;
};

struct StoreObject {
  std::uint64_t size = 0;
  std::string etag;
  std::optional<std::string> sha256;  // stored with the object by airlock push
};

// Stat of the source's object; kNotFound names the URI.
Result<StoreObject> stat_store_object(store::Store& store, const SourceRef& source);

struct StoreReadTuning {
  int parallel = 4;  // ranged reads of one large object in flight
  std::uint64_t part_size = 16u << 20;
  bool sync = false;
  bool whole = false;  // the store ignores ranges: read from the start in one stream
};

// Reads `object` into `partial`, continuing what an interrupted run left there when the object
// still has the same size and ETag (a `<partial>.store` file remembers them). On failure the
// partial file stays for the next run; the caller checks the digests before the blob takes its
// name, and removes the partial with discard_store_partial().
Result<DownloadOutcome> download_store_object(store::Store& store, const SourceRef& source, const StoreObject& object,
                                              const std::filesystem::path& partial, const cache::DigestNeeds& needs,
                                              const StoreReadTuning& tuning, Progress* progress);

// Removes a partial file of download_store_object and what it remembers about it.
void discard_store_partial(const std::filesystem::path& partial);

}  // namespace airlock::fetch
