// Store: one interface for every object-store backend (local directory, S3, plain HTTPS, and the
// GCS / Azure / WebHDFS backends that plug in the same way). A store is opened at a root (a
// bucket and prefix, a directory, a URL) and addresses objects by keys relative to that root.
//
// Keys are '/'-separated relative paths ("hub/models--a--b/blobs/ab12"). A listing prefix is a
// directory: "" (the root) or a string ending in '/', so "models/llama/" never matches
// "models/llama-hf/...". Every method is safe to call from several threads at once.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace airlock::store {

inline constexpr std::uint64_t kMiB = 1024 * 1024;

struct ObjectInfo {
  std::string key;  // relative to the store's root
  std::uint64_t size = 0;
  std::string etag;  // as the backend reports it, quotes removed; may be empty
  // The sha256 that airlock stored with the object when it wrote it (object metadata). Only
  // stat() fills it, and only on backends with capabilities().sha256_metadata.
  std::optional<std::string> sha256;
  // Set when the object is a symbolic link on a backend that has them (a local directory); the
  // target is exactly as stored, not checked here.
  std::optional<std::string> symlink_target;
};

struct ListOptions {
  // false: one level below the prefix; deeper keys are reported once as `prefixes` ("dir/").
  bool recursive = true;
  // Keys per page (backends may return fewer; S3 caps it at 1000).
  std::size_t page_size = 1000;
};

struct ListPage {
  std::vector<ObjectInfo> objects;    // in ascending key order within the page
  std::vector<std::string> prefixes;  // sub-directories, when not recursive
  // Pass to the next list_page() call; nullopt when this was the last page.
  std::optional<std::string> next_token;
};

struct ByteRange {
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;  // nullopt: to the end
};

// Receives an object's bytes in order. Never called concurrently for one read, but possibly on
// another thread than the caller's.
using ByteSink = std::function<Status(std::string_view bytes)>;

struct ReadOptions {
  std::optional<ByteRange> range;
  // The object's size when the caller knows it (from an index or a listing): saves a HEAD
  // before a parallel read.
  std::optional<std::uint64_t> size;
  // Ranged requests in flight for one object, on backends that can; bytes still reach the sink
  // in order. 1: a single stream.
  int parallel = 1;
  std::uint64_t part_size = 8 * kMiB;
  std::shared_ptr<const std::atomic<bool>> cancel;
};

// An upload's bytes, read by position so that parts can be read in parallel and sent again.
struct ByteSource {
  std::uint64_t size = 0;
  std::function<Result<std::size_t>(std::uint64_t offset, std::span<char> buffer)> read;
};

// A ByteSource over a local file, read with pread (the descriptor is shared by all readers and
// closed when the last copy of the source goes).
Result<ByteSource> file_source(const std::string& path);
ByteSource string_source(std::string content);

struct WriteOptions {
  // The content's sha256 when the caller knows it: stored with the object where the backend can
  // (so a later push can trust it without the index), and used as the request's payload hash.
  std::optional<std::string> sha256;
  std::string content_type = "application/octet-stream";
  // Objects larger than this go up in parts, `parallel` parts in flight. Up to 1 GiB a single
  // PUT is as fast (several files are in flight at once), costs one request, and costs nothing
  // extra on stores that assemble parts by copying them (s3rver); beyond it, parts bound what a
  // retry re-sends and let one large file use several connections. 0: always in parts.
  std::uint64_t multipart_threshold = 1024 * kMiB;
  std::uint64_t part_size = 0;  // 0: chosen by the backend (at most 10,000 parts)
  int parallel = 4;
  // Called with the number of bytes of this object that reached the store so far (monotonic).
  std::function<void(std::uint64_t bytes_sent)> on_progress;
  std::shared_ptr<const std::atomic<bool>> cancel;
};

struct Capabilities {
  bool list = true;  // can enumerate keys (a plain web server cannot: it is read through its index)
  bool write = true;
  bool remove = true;
  bool ranged_reads = true;
  bool sha256_metadata = false;  // stat() returns the sha256 given to write()
  bool local = false;            // reads cost no network (a local directory)
};

class Store {
 public:
  virtual ~Store() = default;

  // The store's root as a URI that is safe to print (never credentials or signed queries).
  virtual std::string display_uri() const = 0;
  virtual Capabilities capabilities() const = 0;

  // The object at `key`, or nullopt when there is none.
  virtual Result<std::optional<ObjectInfo>> stat(std::string_view key) = 0;
  // One page of the keys below `prefix` ("" or ending in '/'). `token` comes from the previous
  // page. Objects whose keys end in '/' (directory markers) are not reported.
  virtual Result<ListPage> list_page(std::string_view prefix, const ListOptions& options,
                                     const std::optional<std::string>& token) = 0;
  // Streams the object (or the range of it) into `sink`. A missing object is kNotFound.
  virtual Status read(std::string_view key, const ReadOptions& options, const ByteSink& sink) = 0;
  // Creates or replaces the object; readers see either the old or the whole new object.
  virtual Status write(std::string_view key, const ByteSource& source, const WriteOptions& options) = 0;
  // Deletes the object; deleting a missing object succeeds.
  virtual Status remove(std::string_view key) = 0;
  // Aborts unfinished multipart uploads below `prefix` left by an interrupted writer. Returns
  // how many were aborted; backends without such uploads (or that cannot list them) return 0.
  virtual Result<std::size_t> abort_stale_uploads(std::string_view prefix);

  // Every object below `prefix`, all pages.
  Result<std::vector<ObjectInfo>> list_all(std::string_view prefix, ListOptions options = {});
  // A small object in memory; larger than `limit` is a kResourceExhausted error.
  Result<std::string> read_to_string(std::string_view key, std::uint64_t limit);
  Status write_string(std::string_view key, std::string content, WriteOptions options = {});
};

// "a/b" -> "a/b/"; "" stays "" (the root).
std::string as_directory_prefix(std::string_view prefix);

// Joins a store root prefix and a key ("models/x/" + "a/b" -> "models/x/a/b").
std::string join_key(std::string_view root_prefix, std::string_view key);

// Multipart part size: at least `preferred`, large enough that `size` needs at most
// `max_parts` parts, rounded up to a whole MiB; never below `minimum`.
std::uint64_t choose_part_size(std::uint64_t size, std::uint64_t preferred, std::uint64_t minimum = 5 * kMiB,
                               std::uint64_t max_parts = 10'000);

}  // namespace airlock::store
