#include "fetch/blob_download.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <system_error>
#include <vector>

#include "core/file_io.h"
#include "core/hash.h"
#include "core/log.h"
#include "fetch/hub_responses.h"
#include "net/http_url.h"
#include "net/retry_policy.h"

namespace airlock::fetch {
namespace fs = std::filesystem;
namespace {

// <partial>.parts: one fixed-width header line, then one fixed-width line per range with the
// bytes of that range already in the partial file. Fixed widths let a range's progress be
// updated in place with one small pwrite, which a kill -9 cannot tear.
constexpr std::string_view kStateMagic = "airlock-partial/1";
constexpr std::size_t kLineWidth = 21;  // 20 digits + '\n'
constexpr std::string_view kNoValidator = "----------------------------------------------------------------";

fs::path state_path(const fs::path& partial) { return partial.string() + ".parts"; }

std::string validator_digest(std::string_view etag) {
  std::string normalized = normalize_etag(etag);
  return normalized.empty() ? std::string(kNoValidator) : sha256_hex(normalized);
}

Status pwrite_all(int fd, const void* data, std::size_t length, std::uint64_t offset, const fs::path& path) {
  const char* p = static_cast<const char*>(data);
  while (length > 0) {
    ssize_t n = ::pwrite(fd, p, length, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(fmt::format("cannot write {}", path.string()), errno);
    }
    p += n;
    length -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return ok_status();
}

class PartialState {
 public:
  PartialState(PartialState&& other) noexcept
      : path_(std::move(other.path_)), fd_(other.fd_), header_len_(other.header_len_), validator_(std::move(other.validator_)),
        done_(std::move(other.done_)) {
    other.fd_ = -1;
  }
  PartialState& operator=(PartialState&&) = delete;
  PartialState(const PartialState&) = delete;
  ~PartialState() {
    if (fd_ >= 0) ::close(fd_);
  }

  static std::string header(std::uint64_t size, std::uint64_t chunk, std::size_t chunks, std::string_view validator) {
    return fmt::format("{} {:020} {:020} {:010} {}\n", kStateMagic, size, chunk, chunks, validator);
  }

  static Result<PartialState> create(const fs::path& partial, std::uint64_t size, std::uint64_t chunk, std::size_t chunks) {
    fs::path path = state_path(partial);
    std::string text = header(size, chunk, chunks, kNoValidator);
    std::size_t header_len = text.size();
    for (std::size_t i = 0; i < chunks; ++i) text += fmt::format("{:020}\n", 0);
    // Written in place and not synced: the state is a hint for resuming, and a lost or torn one
    // only means starting that file over (its content is checked against its hash either way).
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return errno_error("cannot create " + path.string(), errno);
    if (Status written = pwrite_all(fd, text.data(), text.size(), 0, path); !written.ok()) {
      ::close(fd);
      return written.error();
    }
    return PartialState(path, fd, header_len, std::string(kNoValidator), std::vector<std::uint64_t>(chunks, 0));
  }

  // The state an earlier run left, when it describes this very download; else nullopt.
  static std::optional<PartialState> load(const fs::path& partial, std::uint64_t size, std::uint64_t chunk, std::size_t chunks) {
    fs::path path = state_path(partial);
    auto text = read_file_limited(path, 64u << 20);
    if (!text.ok()) return std::nullopt;
    std::string expected_prefix = header(size, chunk, chunks, kNoValidator).substr(0, kStateMagic.size() + 1 + 20 + 1 + 20 + 1 + 10 + 1);
    if (!text->starts_with(expected_prefix)) return std::nullopt;
    std::size_t header_len = expected_prefix.size() + 64 + 1;
    if (text->size() != header_len + chunks * kLineWidth || (*text)[header_len - 1] != '\n') return std::nullopt;
    std::string validator = text->substr(expected_prefix.size(), 64);
    std::vector<std::uint64_t> done(chunks, 0);
    for (std::size_t i = 0; i < chunks; ++i) {
      std::string_view line(text->data() + header_len + i * kLineWidth, 20);
      auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), done[i]);
      if (ec != std::errc() || end != line.data() + line.size()) return std::nullopt;
      std::uint64_t start = i * chunk;
      std::uint64_t length = std::min(chunk, size - std::min(size, start));
      if (done[i] > length) return std::nullopt;
    }
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    return PartialState(path, fd, header_len, validator, std::move(done));
  }

  std::uint64_t done(std::size_t chunk) const { return done_[chunk]; }
  const std::string& validator() const { return validator_; }

  Status set_done(std::size_t chunk, std::uint64_t bytes) {
    char line[kLineWidth + 1];
    auto written = fmt::format_to_n(line, sizeof line, "{:020}\n", bytes);
    return pwrite_all(fd_, line, written.size, header_len_ + chunk * kLineWidth, path_);
  }

  Status set_validator(const std::string& digest) {
    validator_ = digest;
    return pwrite_all(fd_, digest.data(), digest.size(), header_len_ - 65, path_);
  }

 private:
  PartialState(fs::path path, int fd, std::size_t header_len, std::string validator, std::vector<std::uint64_t> done)
      : path_(std::move(path)), fd_(fd), header_len_(header_len), validator_(std::move(validator)), done_(std::move(done)) {}

  fs::path path_;
  int fd_ = -1;
  std::size_t header_len_ = 0;
  std::string validator_;
  std::vector<std::uint64_t> done_;
};

// Receive buffers, recycled: buffers of this size come from mmap in glibc, so a fresh one per
// write would cost a page fault per 4 KiB received.
class BufferPool {
 public:
  static BufferPool& instance() {
    static BufferPool pool;
    return pool;
  }
  std::vector<std::uint8_t> take(std::size_t capacity) {
    {
      std::lock_guard lock(mutex_);
      while (!free_.empty()) {
        std::vector<std::uint8_t> buffer = std::move(free_.back());
        free_.pop_back();
        if (buffer.capacity() >= capacity) {
          buffer.clear();
          return buffer;
        }
      }
    }
    std::vector<std::uint8_t> buffer;
    buffer.reserve(capacity);
    return buffer;
  }
  void give(std::vector<std::uint8_t>&& buffer) {
    if (buffer.capacity() == 0) return;
    std::lock_guard lock(mutex_);
    if (free_.size() < kMaxFree) free_.push_back(std::move(buffer));
  }

 private:
  static constexpr std::size_t kMaxFree = 128;
  std::mutex mutex_;
  std::vector<std::vector<std::uint8_t>> free_;
};

// The bytes of one download that wait to be hashed: in memory as received, or already in the
// file (from an earlier run, or spilled when too much waited in memory).
struct Piece {
  std::vector<std::uint8_t> data;
  std::uint64_t length = 0;
  bool on_disk = false;
};

class FileDownload {
 public:
  FileDownload(net::HttpClient& client, const DownloadSource& source, fs::path partial, const cache::DigestNeeds& needs,
               const DownloadTuning& tuning, Progress* progress)
      : client_(client),
        source_(source),
        partial_(std::move(partial)),
        needs_(needs),
        tuning_(tuning),
        progress_(progress),
        hasher_(needs),
        ranges_(source.ranges),
        cancel_(std::make_shared<std::atomic<bool>>(false)) {}

  ~FileDownload() {
    if (fd_ >= 0) ::close(fd_);
  }

  Result<DownloadOutcome> run() {
    AIRLOCK_TRY(prepare());
    AIRLOCK_TRY(transfer());
    if (tuning_.sync && ::fdatasync(fd_) != 0) return errno_error("cannot flush " + partial_.string(), errno);
    DownloadOutcome outcome;
    outcome.digests = hasher_.finish();
    outcome.transferred = transferred_.load();
    outcome.reused = reused_;
    outcome.requests = requests_;
    if (sized_ && outcome.digests.size != size_) {
      return internal_error(fmt::format("{}: hashed {} bytes of {}", partial_.string(), outcome.digests.size, size_));
    }
    return outcome;
  }

 private:
  struct Job {
    std::size_t index = 0;
    std::uint64_t chunk_start = 0;
    std::uint64_t next = 0;  // absolute offset of the next byte to receive
    std::uint64_t end = 0;   // exclusive; max() when the size is unknown
    bool ranged = false;
    std::vector<std::uint8_t> buffer;
  };

  Status prepare() {
    AIRLOCK_TRY(make_directories(partial_.parent_path()));
    fd_ = ::open(partial_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return errno_error("cannot open " + partial_.string(), errno);
    sized_ = source_.size.has_value();
    if (!sized_) {
      // Without a size there is nothing to resume against: start over.
      if (::ftruncate(fd_, 0) != 0) return errno_error("cannot truncate " + partial_.string(), errno);
      std::error_code ec;
      fs::remove(state_path(partial_), ec);
      auto job = std::make_shared<Job>();
      job->end = std::numeric_limits<std::uint64_t>::max();
      queue_.push_back(job);
      return ok_status();
    }
    size_ = *source_.size;
    chunk_ = size_ <= tuning_.parallel_threshold || ranges_ == RangeSupport::kNo ? std::max<std::uint64_t>(size_, 1)
                                                                                : tuning_.chunk_size;
    std::size_t chunks = static_cast<std::size_t>((std::max<std::uint64_t>(size_, 1) + chunk_ - 1) / chunk_);

    // Only files fetched in several ranges keep a resume state: smaller ones are quicker to fetch
    // again than to account for.
    const bool resumable = chunks > 1;
    struct stat st {};
    bool file_ok = ::fstat(fd_, &st) == 0 && static_cast<std::uint64_t>(st.st_size) == size_;
    std::optional<PartialState> loaded =
        file_ok && resumable ? PartialState::load(partial_, size_, chunk_, chunks) : std::nullopt;
    if (loaded && ranges_ == RangeSupport::kNo) loaded.reset();
    if (loaded) {
      state_.emplace(std::move(*loaded));
    } else {
      if (::ftruncate(fd_, 0) != 0 || ::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
        return errno_error("cannot size " + partial_.string(), errno);
      }
      // Ranges land out of order: reserving the space keeps the file in few extents, and a full
      // disk shows at once rather than after gigabytes.
      if (resumable && ::fallocate(fd_, 0, 0, static_cast<off_t>(size_)) != 0 && errno == ENOSPC) {
        return Error(ErrorCode::kResourceExhausted,
                     fmt::format("no space left for {} ({} bytes)", partial_.string(), size_));
      }
      if (resumable) {
        AIRLOCK_ASSIGN_OR_RETURN(PartialState created, PartialState::create(partial_, size_, chunk_, chunks));
        state_.emplace(std::move(created));
      } else {
        std::error_code ec;
        fs::remove(state_path(partial_), ec);
      }
    }
    for (std::size_t i = 0; i < chunks; ++i) {
      std::uint64_t start = i * chunk_;
      std::uint64_t end = std::min(size_, start + chunk_);
      std::uint64_t done = state_ ? state_->done(i) : 0;
      if (done > 0) {
        reused_ += done;
        Piece piece;
        piece.length = done;
        piece.on_disk = true;
        pending_.emplace(start, std::move(piece));
      }
      if (start + done >= end && size_ > 0) continue;
      auto job = std::make_shared<Job>();
      job->index = i;
      job->chunk_start = start;
      job->next = start + done;
      job->end = end;
      job->ranged = chunks > 1 || done > 0;
      queue_.push_back(job);
    }
    if (reused_ > 0) log::debug("resuming {}: {} of {} bytes kept from an earlier run", partial_.string(), reused_, size_);
    return ok_status();
  }

  // Runs the jobs within the window, hashing in order as pieces arrive.
  Status transfer() {
    const std::size_t window = static_cast<std::size_t>(std::max(1, tuning_.max_ranges_per_file));
    std::unique_lock lock(mutex_);
    while (true) {
      // Taken before acting, so that whatever happens while the lock is released (submitting,
      // hashing) wakes the wait below.
      const std::uint64_t seen = generation_;
      while (!error_ && in_flight_ < window && !queue_.empty() && !probing_) {
        auto job = queue_.front();
        queue_.pop_front();
        if (ranges_.load() == RangeSupport::kUnknown && job->ranged) probing_ = true;
        ++in_flight_;
        ++requests_;
        lock.unlock();
        submit(job);
        lock.lock();
      }
      if (error_ && in_flight_ == 0) return *error_;
      if (!error_) {
        if (Status hashed = hash_ready(lock); !hashed.ok()) {
          error_ = std::move(hashed).error();
          cancel_->store(true);
          continue;
        }
      }
      if (!error_ && queue_.empty() && in_flight_ == 0) {
        std::uint64_t target = sized_ ? size_ : final_size_;
        if (frontier_ >= target && pending_.empty()) return ok_status();
        if (!ready()) {
          return internal_error(
              fmt::format("{}: bytes missing at offset {} after every request finished", partial_.string(), frontier_));
        }
        continue;
      }
      cv_.wait(lock, [&] { return generation_ != seen || (!error_ && ready()); });
    }
  }

  bool ready() const { return !pending_.empty() && pending_.begin()->first == frontier_; }

  // Hashes what is contiguous at the frontier; the lock is released while hashing.
  Status hash_ready(std::unique_lock<std::mutex>& lock) {
    std::vector<std::uint8_t> scratch;
    while (ready()) {
      auto node = pending_.extract(pending_.begin());
      Piece piece = std::move(node.mapped());
      if (!piece.on_disk) pending_bytes_ -= piece.data.size();
      lock.unlock();
      Status hashed = ok_status();
      if (piece.on_disk) {
        hashed = hash_from_disk(node.key(), piece.length, scratch);
      } else {
        hasher_.update(std::span<const std::uint8_t>(piece.data.data(), piece.data.size()));
        BufferPool::instance().give(std::move(piece.data));
      }
      lock.lock();
      if (!hashed.ok()) return hashed;
      frontier_ += piece.length;
    }
    return ok_status();
  }

  Status hash_from_disk(std::uint64_t offset, std::uint64_t length, std::vector<std::uint8_t>& scratch) {
    scratch.resize(tuning_.buffer_size);
    while (length > 0) {
      std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(length, scratch.size()));
      ssize_t n = ::pread(fd_, scratch.data(), want, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return errno_error(fmt::format("cannot read back {} at {}", partial_.string(), offset), n < 0 ? errno : EIO);
      hasher_.update(std::span<const std::uint8_t>(scratch.data(), static_cast<std::size_t>(n)));
      offset += static_cast<std::uint64_t>(n);
      length -= static_cast<std::uint64_t>(n);
    }
    return ok_status();
  }

  void submit(const std::shared_ptr<Job>& job) {
    net::HttpRequest request = net::HttpRequest::get(source_.url);
    request.headers = source_.headers;
    request.signer = source_.signer;
    request.sensitive_headers = source_.sensitive_headers;
    request.options.cancel = cancel_;
    if (job->ranged) request.range = net::ByteRange{job->next, job->end - 1};
    net::HttpSink sink;
    sink.on_headers = [this, job](int status, const net::HttpHeaders& headers) { return on_headers(*job, status, headers); };
    sink.on_data = [this, job](std::string_view bytes) { return on_data(*job, bytes); };
    client_.submit(std::move(request), std::move(sink),
                   [this, job](Result<net::HttpResponse> response) { on_complete(job, std::move(response)); });
  }

  Error corrupt(std::string what) const {
    return Error(ErrorCode::kCorrupt, fmt::format("{}: {}", net::display_url(source_.url), what));
  }

  Status check_validator(const net::HttpHeaders& headers) {
    auto etag = headers.get("etag");
    if (!etag || normalize_etag(*etag).empty() || !state_) return ok_status();
    std::string digest = validator_digest(*etag);
    std::lock_guard lock(state_mutex_);
    if (state_->validator() == kNoValidator) return state_->set_validator(digest);
    if (state_->validator() != digest) {
      return corrupt("the object changed on the server (its ETag differs from the one the download began with)");
    }
    return ok_status();
  }

  Status on_headers(Job& job, int status, const net::HttpHeaders& headers) {
    if (job.ranged) {
      if (status == 206) {
        auto range = net::parse_content_range(headers.get("content-range").value_or(""));
        if (!range || range->first != job.next || range->last != job.end - 1 || (range->total && sized_ && *range->total != size_)) {
          return corrupt(fmt::format("asked for bytes {}-{} of {}, the server sent '{}'", job.next, job.end - 1, size_,
                                     headers.get("content-range").value_or("no Content-Range")));
        }
        AIRLOCK_TRY(check_validator(headers));
        decide_ranges(RangeSupport::kYes);
        return ok_status();
      }
      // 200 to a ranged request: the server ignores Range and sends the whole object.
      if (job.next != 0 || reused_ > 0) {
        return Error(ErrorCode::kUnsupported,
                     fmt::format("{}: the server ignores Range requests, so the partial download cannot be continued",
                                 net::display_url(source_.url)));
      }
      {
        std::lock_guard lock(mutex_);
        queue_.clear();
        job.end = size_;
      }
      decide_ranges(RangeSupport::kNo);
    }
    if (sized_) {
      auto length = headers.get("content-length");
      std::uint64_t value = 0;
      if (length && std::from_chars(length->data(), length->data() + length->size(), value).ec == std::errc() &&
          value != job.end - job.next) {
        return corrupt(fmt::format("the server announces {} bytes, expected {}", value, job.end - job.next));
      }
    }
    return check_validator(headers);
  }

  void decide_ranges(RangeSupport support) {
    std::lock_guard lock(mutex_);
    if (ranges_.load() == RangeSupport::kUnknown) ranges_.store(support);
    if (probing_) {
      probing_ = false;
      ++generation_;
      cv_.notify_all();
    }
  }

  Status on_data(Job& job, std::string_view bytes) {
    std::uint64_t buffered = job.buffer.size();
    if (job.next + buffered + bytes.size() > job.end) {
      return corrupt(fmt::format("the server sent more than the {} bytes expected", job.end - job.chunk_start));
    }
    transferred_.fetch_add(bytes.size(), std::memory_order_relaxed);
    if (progress_ != nullptr) progress_->add_bytes(bytes.size());
    while (!bytes.empty()) {
      if (job.buffer.capacity() < tuning_.buffer_size) job.buffer = BufferPool::instance().take(tuning_.buffer_size);
      std::size_t take = std::min(bytes.size(), tuning_.buffer_size - job.buffer.size());
      job.buffer.insert(job.buffer.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(take));
      bytes.remove_prefix(take);
      if (job.buffer.size() >= tuning_.buffer_size) AIRLOCK_TRY(flush(job));
    }
    return ok_status();
  }

  // Writes the buffered bytes, records the range's progress, and hands the bytes to the hasher.
  Status flush(Job& job) {
    if (job.buffer.empty()) return ok_status();
    std::uint64_t offset = job.next;
    std::size_t length = job.buffer.size();
    AIRLOCK_TRY(pwrite_all(fd_, job.buffer.data(), length, offset, partial_));
    job.next += length;
    if (state_ && ranges_.load() != RangeSupport::kNo) AIRLOCK_TRY(state_->set_done(job.index, job.next - job.chunk_start));
    Piece piece;
    piece.length = length;
    std::lock_guard lock(mutex_);
    if (pending_bytes_ + length > tuning_.max_pending_bytes && offset != frontier_) {
      piece.on_disk = true;  // read back later instead of holding it
      job.buffer.clear();  // and keep the buffer for the next bytes
    } else {
      pending_bytes_ += length;
      piece.data = std::move(job.buffer);
      job.buffer = std::vector<std::uint8_t>();
    }
    pending_.emplace(offset, std::move(piece));
    if (offset == frontier_) cv_.notify_all();
    return ok_status();
  }

  void on_complete(const std::shared_ptr<Job>& job, Result<net::HttpResponse> response) {
    Status status = ok_status();
    if (!response.ok()) {
      status = std::move(response).error();
    } else if (!response->ok()) {
      status = net::http_error(*response);
    } else {
      status = flush(*job);
      BufferPool::instance().give(std::move(job->buffer));
      if (status.ok() && sized_ && job->next != job->end) {
        status = corrupt(fmt::format("the body ended after {} of {} bytes", job->next - job->chunk_start, job->end - job->chunk_start));
      }
    }
    std::lock_guard lock(mutex_);
    --in_flight_;
    if (!sized_ && status.ok()) final_size_ = job->next;
    if (!status.ok() && !error_) {
      error_ = std::move(status).error();
      cancel_->store(true);
    }
    if (probing_) probing_ = false;
    ++generation_;
    cv_.notify_all();
  }

  net::HttpClient& client_;
  const DownloadSource& source_;
  fs::path partial_;
  cache::DigestNeeds needs_;
  DownloadTuning tuning_;
  Progress* progress_;
  cache::ContentHasher hasher_;

  int fd_ = -1;
  bool sized_ = false;
  std::uint64_t size_ = 0;
  std::uint64_t chunk_ = 0;
  std::optional<PartialState> state_;
  std::mutex state_mutex_;
  std::uint64_t reused_ = 0;
  int requests_ = 0;
  std::atomic<std::uint64_t> transferred_{0};
  std::atomic<RangeSupport> ranges_;
  std::shared_ptr<std::atomic<bool>> cancel_;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::uint64_t generation_ = 0;
  std::deque<std::shared_ptr<Job>> queue_;
  std::size_t in_flight_ = 0;
  bool probing_ = false;
  std::optional<Error> error_;
  std::map<std::uint64_t, Piece> pending_;
  std::uint64_t pending_bytes_ = 0;
  std::uint64_t frontier_ = 0;
  std::uint64_t final_size_ = 0;
};

}  // namespace

Result<DownloadOutcome> download_to_partial(net::HttpClient& client, const DownloadSource& source, const fs::path& partial,
                                            const cache::DigestNeeds& needs, const DownloadTuning& tuning, Progress* progress) {
  FileDownload download(client, source, partial, needs, tuning, progress);
  return download.run();
}

void discard_partial(const fs::path& partial) {
  std::error_code ec;
  fs::remove(partial, ec);
  fs::remove(state_path(partial), ec);
}

void discard_partial_state(const fs::path& partial) {
  std::error_code ec;
  fs::remove(state_path(partial), ec);
}

std::uint64_t resumable_bytes(const fs::path& partial, std::uint64_t size, const DownloadTuning& tuning) {
  std::uint64_t chunk = size <= tuning.parallel_threshold ? std::max<std::uint64_t>(size, 1) : tuning.chunk_size;
  std::size_t chunks = static_cast<std::size_t>((std::max<std::uint64_t>(size, 1) + chunk - 1) / chunk);
  auto state = PartialState::load(partial, size, chunk, chunks);
  if (!state) return 0;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < chunks; ++i) total += state->done(i);
  return total;
}

}  // namespace airlock::fetch
