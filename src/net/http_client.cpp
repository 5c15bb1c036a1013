#include "net/http_client.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <span>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>

#include "core/env.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/strings.h"
#include "core/version.h"
#include "net/http_url.h"
#include "net/retry_policy.h"

namespace airlock::net {

std::string default_user_agent() {
  return "airlock/" + std::string(kVersion);
}

namespace internal {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Set on event-loop threads: a blocking send() there would wait for the thread it blocks.
thread_local bool t_on_loop_thread = false;

// curl_global_init is not thread-safe and must run once per process. curl_global_cleanup is
// never called: other libraries in the process may still use curl at exit, and the OS reclaims
// what it holds.
CURLcode init_curl_once() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return result;
}

std::optional<std::uint64_t> content_length(const HttpHeaders& headers) {
  auto value = headers.get("content-length");
  if (!value) return std::nullopt;
  return parse_u64(*value);
}

bool is_retryable_curl(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

// Failures that prove the request never reached a server, so even a POST may be sent again.
bool never_reached_server(CURLcode code) {
  return code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_RESOLVE_PROXY || code == CURLE_COULDNT_CONNECT;
}

ErrorCode error_code_for_curl(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return ErrorCode::kTimeout;
    case CURLE_ABORTED_BY_CALLBACK:
      return ErrorCode::kCancelled;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
      return ErrorCode::kInvalidArgument;
    case CURLE_OUT_OF_MEMORY:
    case CURLE_FILESIZE_EXCEEDED:
      return ErrorCode::kResourceExhausted;
    default:
      return ErrorCode::kNetwork;
  }
}

std::string describe_curl(CURLcode code, const char* error_buffer) {
  std::string detail = (error_buffer != nullptr && error_buffer[0] != '\0') ? error_buffer : curl_easy_strerror(code);
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r')) detail.pop_back();
  if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE) {
    detail += " (give the server's CA with a CA bundle or SSL_CERT_FILE)";
  }
  return redact(detail);
}

std::string attempts_suffix(int attempts) {
  return attempts > 1 ? fmt::format(" (after {} attempts)", attempts) : std::string();
}

// Runs a caller's callback so that an exception cannot unwind through curl's C frames.
template <typename F>
Status guarded(const char* what, F&& callback) {
  try {
    return callback();
  } catch (const std::exception& e) {
    return internal_error(fmt::format("{} threw: {}", what, e.what()));
  } catch (...) {
    return internal_error(fmt::format("{} threw", what));
  }
}

// Header names whose values are credentials; always dropped on a cross-origin redirect.
constexpr std::array<std::string_view, 3> kCredentialHeaders = {"authorization", "proxy-authorization", "cookie"};

// The pieces of a credential header value worth hiding: the whole value, and its tokens
// ("Bearer <token>", "AWS4-HMAC-SHA256 Credential=..., Signature=<hex>").
void collect_secret_values(std::string_view value, std::vector<std::string>& out) {
  constexpr std::size_t kMinSecret = 8;
  value = trim(value);
  if (value.size() >= kMinSecret) out.emplace_back(value);
  std::size_t start = 0;
  while (start < value.size()) {
    std::size_t end = value.find_first_of(" ,;", start);
    if (end == std::string_view::npos) end = value.size();
    std::string_view token = value.substr(start, end - start);
    if (auto eq = token.find('='); eq != std::string_view::npos) token = token.substr(eq + 1);
    if (token.size() >= kMinSecret) out.emplace_back(token);
    start = end + 1;
  }
}

void replace_all(std::string& text, std::string_view needle, std::string_view replacement) {
  if (needle.empty()) return;
  std::size_t pos = 0;
  while ((pos = text.find(needle, pos)) != std::string::npos) {
    text.replace(pos, needle.size(), replacement);
    pos += replacement.size();
  }
}

class SlotLimiter {
 public:
  SlotLimiter(int max_total, int max_per_origin) : max_total_(max_total), max_per_origin_(max_per_origin) {}

  bool try_acquire(const std::string& origin) {
    std::lock_guard lock(mutex_);
    if (max_total_ > 0 && total_ >= max_total_) return false;
    int& count = per_origin_[origin];
    if (max_per_origin_ > 0 && count >= max_per_origin_) return false;
    ++count;
    ++total_;
    return true;
  }

  void release(const std::string& origin) {
    std::lock_guard lock(mutex_);
    auto it = per_origin_.find(origin);
    if (it != per_origin_.end() && --it->second <= 0) per_origin_.erase(it);
    --total_;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, int> per_origin_;
  int total_ = 0;
  int max_total_;
  int max_per_origin_;
};

}  // namespace

class EventLoop;

enum class BodyMode { kSink, kBuffer, kErrorBody };

// One logical request: every attempt, redirect and resume of one send(). Owned by one event loop
// from submission to completion, and touched only on that loop's thread.
struct Transfer {
  // What the caller asked for.
  HttpSink sink;
  HttpClient::Completion done;
  RequestSigner signer;
  std::vector<std::string> sensitive_headers;
  std::shared_ptr<const std::atomic<bool>> cancel;
  std::string original_origin;
  bool follow_redirects = true;
  int max_redirects = 10;
  int max_retries = 0;
  bool idempotent = true;
  bool resume_enabled = true;
  bool negotiate = false;
  long connect_timeout_ms = 0;
  long low_speed_limit = 0;
  long low_speed_time_s = 0;
  std::optional<Clock::time_point> deadline;
  milliseconds total_timeout{0};
  std::size_t max_error_body = 0;

  // The request as it stands now; redirects rewrite it.
  std::string method;
  std::string url;
  HttpHeaders headers;
  std::variant<std::monostate, std::string, BodySource> body;
  std::optional<ByteRange> range;
  bool credentials_dropped = false;

  int retries = 0;  // includes resumes
  int redirects = 0;
  int resumes = 0;
  std::string last_failure;  // why the last attempt failed, for log lines
  // Why the body last broke off (what a resume tried to repair), for the final error.
  std::string break_reason;
  ErrorCode break_code = ErrorCode::kNetwork;

  // The logical response, fixed by the first 2xx (`started`): a resumed body continues it.
  bool started = false;
  int status = 0;
  std::string reason;
  HttpHeaders response_headers;
  std::string body_buffer;
  std::uint64_t delivered = 0;   // body bytes given to the sink or buffered
  std::uint64_t range_base = 0;  // offset in the resource of the first body byte
  std::optional<std::uint64_t> range_last;
  std::optional<std::uint64_t> total_size;
  std::string validator;  // for If-Range: a strong ETag, else Last-Modified
  bool resumable = false;

  // The attempt in flight.
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  std::string slot_origin;
  bool holds_slot = false;
  int attempt_status = 0;
  std::string attempt_reason;
  HttpHeaders attempt_headers;
  bool headers_done = false;
  BodyMode mode = BodyMode::kErrorBody;
  std::string error_body;
  std::uint64_t attempt_bytes = 0;
  std::uint64_t upload_offset = 0;
  std::optional<Error> abort_error;  // from the sink, the body source or a refused resume
  std::vector<std::string> secret_values;
  std::array<char, CURL_ERROR_SIZE> error_buffer{};

  bool cancelled() const { return cancel && cancel->load(std::memory_order_relaxed); }
  std::uint64_t body_size() const {
    if (const auto* text = std::get_if<std::string>(&body)) return text->size();
    if (const auto* source = std::get_if<BodySource>(&body)) return source->size;
    return 0;
  }
  bool has_body() const { return !std::holds_alternative<std::monostate>(body); }
  int attempts() const { return 1 + retries; }
  std::string where() const { return method + " " + display_url(url); }

  void reset_attempt() {
    attempt_status = 0;
    attempt_reason.clear();
    attempt_headers.clear();
    headers_done = false;
    mode = BodyMode::kErrorBody;
    error_body.clear();
    attempt_bytes = 0;
    upload_offset = 0;
    abort_error.reset();
    secret_values.clear();
    error_buffer[0] = '\0';
  }
};

namespace {

// The body broke off after `t.delivered` bytes and could not be continued. The code is that of
// the break (a stall stays kTimeout) unless `code` names something more specific.
Error resume_error(const Transfer& t, std::optional<ErrorCode> code, std::string_view problem) {
  return Error(code.value_or(t.break_code),
               fmt::format("{}: {} after {} bytes of the body, and resuming failed: {}; stopping rather than "
                           "delivering bytes twice{}",
                           t.where(), t.break_reason, t.delivered, problem, attempts_suffix(t.attempts())));
}

// Decides what to do with the body of the response whose headers just ended. Returns false to
// abort the attempt (abort_error says why).
bool on_headers_complete(Transfer& t) {
  const int status = t.attempt_status;
  if (t.started) {
    // A resume: only the exact continuation of what the sink already has is acceptable.
    if (status == 206) {
      auto range = parse_content_range(t.attempt_headers.get("content-range").value_or(""));
      const std::uint64_t expected = t.range_base + t.delivered;
      std::string problem;
      if (!range) {
        problem = "the 206 response has no usable Content-Range";
      } else if (range->first != expected) {
        problem = fmt::format("the server sent bytes from {} instead of {}", range->first, expected);
      } else if (t.range_last && range->last != *t.range_last) {
        problem = fmt::format("the server's range ends at {} instead of {}", range->last, *t.range_last);
      } else if (t.total_size && range->total && *range->total != *t.total_size) {
        problem = fmt::format("the object's size changed from {} to {}", *t.total_size, *range->total);
      }
      if (!problem.empty()) {
        t.abort_error = resume_error(t, std::nullopt, problem);
        return false;
      }
      if (!t.range_last) t.range_last = range->last;
      if (!t.total_size) t.total_size = range->total;
      t.mode = t.sink.empty() ? BodyMode::kBuffer : BodyMode::kSink;
      return true;
    }
    if (is_retryable_status(status)) {
      t.mode = BodyMode::kErrorBody;
      return true;
    }
    if (status == 200) {
      t.abort_error = resume_error(t, std::nullopt,
                                   "the server answered 200 OK instead of 206 Partial Content (the object changed, "
                                   "or the server ignores Range)");
    } else {
      t.abort_error = resume_error(t, status >= 400 ? std::optional(error_code_for_status(status)) : std::nullopt,
                                   fmt::format("the server answered HTTP {}", status));
    }
    return false;
  }

  if (status < 200 || status >= 300) {
    t.mode = BodyMode::kErrorBody;
    return true;
  }

  t.started = true;
  t.status = status;
  t.reason = t.attempt_reason;
  t.response_headers = t.attempt_headers;
  bool range_known = true;
  if (status == 206) {
    if (auto range = parse_content_range(t.attempt_headers.get("content-range").value_or(""))) {
      t.range_base = range->first;
      t.range_last = range->last;
      t.total_size = range->total;
    } else {
      range_known = false;  // multipart/byteranges or a broken server: nothing to resume from
    }
  } else if (auto length = content_length(t.attempt_headers)) {
    t.total_size = *length;
    if (*length > 0) t.range_last = *length - 1;
  }
  if (auto etag = t.attempt_headers.get("etag"); etag && !etag->starts_with("W/") && !etag->empty()) {
    t.validator = *etag;
  } else if (auto modified = t.attempt_headers.get("last-modified")) {
    t.validator = *modified;
  }
  auto accept_ranges = t.attempt_headers.get("accept-ranges");
  t.resumable = t.resume_enabled && t.method == "GET" && (status == 200 || status == 206) && range_known &&
                !(accept_ranges && header_name_equals(trim(*accept_ranges), "none"));

  if (t.sink.on_headers) {
    Status accepted = guarded("HttpSink::on_headers", [&] { return t.sink.on_headers(status, t.response_headers); });
    if (!accepted.ok()) {
      t.abort_error = std::move(accepted).error();
      return false;
    }
  }
  t.mode = t.sink.empty() ? BodyMode::kBuffer : BodyMode::kSink;
  return true;
}

size_t header_callback(char* data, size_t size, size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const size_t length = size * count;
  std::string_view line(data, length);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (t.headers_done) return length;  // trailers
  if (line.starts_with("HTTP/")) {
    // A status line starts a response; after 1xx another one follows.
    t.attempt_headers.clear();
    t.attempt_status = 0;
    t.attempt_reason.clear();
    auto space = line.find(' ');
    if (space != std::string_view::npos) {
      std::string_view rest = line.substr(space + 1);
      int code = 0;
      auto [end, ec] = std::from_chars(rest.data(), rest.data() + std::min<std::size_t>(rest.size(), 3), code);
      if (ec == std::errc()) t.attempt_status = code;
      if (rest.size() > 3) t.attempt_reason = std::string(trim(rest.substr(3)));
      (void)end;
    }
    return length;
  }
  if (line.empty()) {
    if (t.attempt_status >= 100 && t.attempt_status < 200) return length;
    t.headers_done = true;
    return on_headers_complete(t) ? length : 0;
  }
  if (line.front() == ' ' || line.front() == '\t') return length;  // obsolete line folding
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return length;
  t.attempt_headers.add(std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  return length;
}

size_t write_callback(char* data, size_t size, size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const size_t length = size * count;
  t.attempt_bytes += length;
  switch (t.mode) {
    case BodyMode::kSink:
      if (t.sink.on_data) {
        Status accepted = guarded("HttpSink::on_data", [&] { return t.sink.on_data(std::string_view(data, length)); });
        if (!accepted.ok()) {
          t.abort_error = std::move(accepted).error();
          return 0;  // anything but `length` makes curl abort the transfer
        }
      }
      t.delivered += length;
      break;
    case BodyMode::kBuffer:
      t.body_buffer.append(data, length);
      t.delivered += length;
      break;
    case BodyMode::kErrorBody:
      if (t.error_body.size() < t.max_error_body) {
        t.error_body.append(data, std::min(length, t.max_error_body - t.error_body.size()));
      }
      break;
  }
  return length;
}

size_t read_callback(char* buffer, size_t size, size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const std::uint64_t total = t.body_size();
  if (t.upload_offset >= total) return 0;
  const size_t want = static_cast<size_t>(std::min<std::uint64_t>(size * count, total - t.upload_offset));
  if (const auto* text = std::get_if<std::string>(&t.body)) {
    std::memcpy(buffer, text->data() + t.upload_offset, want);
    t.upload_offset += want;
    return want;
  }
  const auto* source = std::get_if<BodySource>(&t.body);
  if (source == nullptr) return 0;
  Result<std::size_t> got = Result<std::size_t>(std::size_t{0});
  try {
    got = source->read(t.upload_offset, std::span<char>(buffer, want));
  } catch (const std::exception& e) {
    got = internal_error(fmt::format("BodySource::read threw: {}", e.what()));
  } catch (...) {
    got = internal_error("BodySource::read threw");
  }
  if (!got.ok()) {
    t.abort_error = std::move(got).error();
    return CURL_READFUNC_ABORT;
  }
  if (*got == 0 || *got > want) {
    t.abort_error =
        io_error(fmt::format("{}: the upload body source ended at byte {} of {}", t.where(), t.upload_offset, total));
    return CURL_READFUNC_ABORT;
  }
  t.upload_offset += *got;
  return *got;
}

// curl rewinds an upload when it must send it again on a fresh connection.
int seek_callback(void* user, curl_off_t offset, int origin) {
  auto& t = *static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<std::uint64_t>(offset) > t.body_size()) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  t.upload_offset = static_cast<std::uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

int progress_callback(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(user)->cancelled() ? 1 : 0;
}

void share_lock(CURL*, curl_lock_data data, curl_lock_access, void* user);
void share_unlock(CURL*, curl_lock_data data, void* user);

}  // namespace

// What the client's event loops share.
struct ClientState {
  explicit ClientState(HttpClientOptions opts)
      : options(std::move(opts)), limiter(options.max_transfers, options.max_transfers_per_host) {}

  HttpClientOptions options;
  std::string ca_file;
  std::string ca_path;
  SlotLimiter limiter;
  CURLSH* share = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> share_locks;
  std::vector<std::unique_ptr<EventLoop>> loops;
  std::atomic<std::size_t> next_loop{0};

  void wake_others(const EventLoop* self);
};

namespace {

void share_lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
  auto& state = *static_cast<ClientState*>(user);
  state.share_locks[static_cast<std::size_t>(data) % state.share_locks.size()].lock();
}

void share_unlock(CURL*, curl_lock_data data, void* user) {
  auto& state = *static_cast<ClientState*>(user);
  state.share_locks[static_cast<std::size_t>(data) % state.share_locks.size()].unlock();
}

}  // namespace

// A thread driving one curl multi handle: it starts attempts when a slot is free, waits out
// backoff delays on timers (no thread sleeps), and decides after each attempt whether to finish,
// retry, resume or follow a redirect.
class EventLoop {
 public:
  explicit EventLoop(ClientState& state) : state_(state), rng_(std::random_device{}()) {}
  ~EventLoop() {
    stop();
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
  }
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  bool start() {
    multi_ = curl_multi_init();
    if (multi_ == nullptr) return false;
    try {
      thread_ = std::thread([this] { run(); });
    } catch (const std::exception&) {
      return false;
    }
    return true;
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    if (multi_ != nullptr) curl_multi_wakeup(multi_);
    if (thread_.joinable()) thread_.join();
  }

  // Hands `transfer` to this loop; false (and `transfer` untouched) once the loop is stopping.
  bool post(std::unique_ptr<Transfer>& transfer) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return false;
      inbox_.push_back(std::move(transfer));
    }
    curl_multi_wakeup(multi_);
    return true;
  }

  void wake() { curl_multi_wakeup(multi_); }

 private:
  void run() {
    t_on_loop_thread = true;
    for (;;) {
      std::vector<std::unique_ptr<Transfer>> incoming;
      bool stop_now = false;
      {
        std::lock_guard lock(mutex_);
        incoming.swap(inbox_);
        stop_now = stopping_;
      }
      for (auto& transfer : incoming) {
        Transfer* raw = transfer.get();
        owned_.emplace(raw, std::move(transfer));
        ready_.push_back(raw);
      }
      if (stop_now) {
        shutdown_all();
        return;
      }
      fire_timers();
      sweep_cancelled();
      bool started = admit_ready();
      int running = 0;
      curl_multi_perform(multi_, &running);
      process_messages();
      started = admit_ready() || started;
      int timeout = started ? 0 : poll_timeout_ms();
      if (timeout > 0) curl_multi_poll(multi_, nullptr, 0, timeout, nullptr);
    }
  }

  int poll_timeout_ms() {
    long curl_ms = -1;
    curl_multi_timeout(multi_, &curl_ms);
    long ms = curl_ms < 0 ? 1000 : curl_ms;
    if (!timers_.empty()) {
      auto until = std::chrono::duration_cast<milliseconds>(timers_.begin()->first - Clock::now()).count();
      ms = std::min<long>(ms, std::max<long>(until, 0));
    }
    // Waiting transfers have no curl handle to notice their cancel flag: look now and then.
    if (!ready_.empty() || !timers_.empty()) ms = std::min<long>(ms, 200);
    return static_cast<int>(std::clamp<long>(ms, 0, 1000));
  }

  void fire_timers() {
    const auto now = Clock::now();
    while (!timers_.empty() && timers_.begin()->first <= now) {
      ready_.push_back(timers_.begin()->second);
      timers_.erase(timers_.begin());
    }
  }

  void sweep_cancelled() {
    std::vector<Transfer*> cancelled;
    for (auto it = ready_.begin(); it != ready_.end();) {
      if ((*it)->cancelled()) {
        cancelled.push_back(*it);
        it = ready_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = timers_.begin(); it != timers_.end();) {
      if (it->second->cancelled()) {
        cancelled.push_back(it->second);
        it = timers_.erase(it);
      } else {
        ++it;
      }
    }
    for (Transfer* t : cancelled) finish(*t, cancelled_error(*t));
  }

  static Error cancelled_error(const Transfer& t) { return Error(ErrorCode::kCancelled, t.where() + ": cancelled"); }

  // Starts every waiting transfer that a slot is free for, in arrival order.
  bool admit_ready() {
    bool any = false;
    std::deque<Transfer*> still_waiting;
    while (!ready_.empty()) {
      Transfer* t = ready_.front();
      ready_.pop_front();
      std::string origin = url_origin(t->url);
      if (!state_.limiter.try_acquire(origin)) {
        still_waiting.push_back(t);
        continue;
      }
      t->slot_origin = std::move(origin);
      t->holds_slot = true;
      start_attempt(*t);
      any = true;
    }
    ready_.swap(still_waiting);
    return any;
  }

  void release_slot(Transfer& t) {
    if (!t.holds_slot) return;
    t.holds_slot = false;
    state_.limiter.release(t.slot_origin);
    state_.wake_others(this);
  }

  void detach(Transfer& t) {
    if (t.easy != nullptr) {
      curl_multi_remove_handle(multi_, t.easy);
      curl_easy_cleanup(t.easy);
      t.easy = nullptr;
    }
    if (t.header_list != nullptr) {
      curl_slist_free_all(t.header_list);
      t.header_list = nullptr;
    }
    release_slot(t);
  }

  // The request as this attempt sends it, signed.
  Result<OutgoingRequest> prepare(Transfer& t) {
    OutgoingRequest out;
    out.method = t.method;
    out.url = t.url;
    out.headers = t.headers;
    out.body_size = t.body_size();
    if (t.started || t.range) {
      out.headers.remove("Range");
      out.headers.remove("If-Range");
    }
    if (t.started) {
      ByteRange rest{t.range_base + t.delivered, t.range_last};
      out.headers.add("Range", rest.header_value());
      if (!t.validator.empty()) out.headers.add("If-Range", t.validator);
    } else if (t.range) {
      out.headers.add("Range", t.range->header_value());
    }
    if (t.signer && !t.credentials_dropped && url_origin(t.url) == t.original_origin) {
      Status signed_ok = guarded("RequestSigner", [&] { return t.signer(out); });
      if (!signed_ok.ok()) return std::move(signed_ok).error();
    }
    for (const auto& entry : out.headers) {
      // Named references, not a structured binding: older clang cannot capture those in lambdas.
      const std::string& name = entry.first;
      const std::string& value = entry.second;
      if (name.find_first_of("\r\n:") != std::string::npos || value.find_first_of("\r\n") != std::string::npos) {
        return invalid_argument(fmt::format("{}: header {} contains a line break or colon", t.where(), redact(name)));
      }
      bool secret = std::any_of(kCredentialHeaders.begin(), kCredentialHeaders.end(),
                                [&](std::string_view n) { return header_name_equals(name, n); }) ||
                    std::any_of(t.sensitive_headers.begin(), t.sensitive_headers.end(),
                                [&](const std::string& n) { return header_name_equals(name, n); });
      if (secret) collect_secret_values(value, t.secret_values);
    }
    return out;
  }

  void start_attempt(Transfer& t) {
    t.reset_attempt();
    if (t.deadline && Clock::now() >= *t.deadline) {
      release_slot(t);
      finish(t, Error(ErrorCode::kTimeout, fmt::format("{}: gave up after the total timeout of {} ms{}", t.where(),
                                                       t.total_timeout.count(), attempts_suffix(t.attempts()))));
      return;
    }
    auto prepared = prepare(t);
    if (!prepared.ok()) {
      release_slot(t);
      finish(t, std::move(prepared).error());
      return;
    }
    Status configured = configure(t, *prepared);
    if (configured.ok() && curl_multi_add_handle(multi_, t.easy) != CURLM_OK) {
      configured = internal_error(t.where() + ": cannot add the transfer to curl");
    }
    if (!configured.ok()) {
      detach(t);
      finish(t, std::move(configured).error());
    }
  }

  Status configure(Transfer& t, const OutgoingRequest& out) {
    const HttpClientOptions& options = state_.options;
    t.easy = curl_easy_init();
    if (t.easy == nullptr) return internal_error(t.where() + ": curl_easy_init failed");
    CURL* easy = t.easy;
    curl_easy_setopt(easy, CURLOPT_URL, out.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PRIVATE, static_cast<void*>(&t));
    if (state_.share != nullptr) curl_easy_setopt(easy, CURLOPT_SHARE, state_.share);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    // Verbose output would print request headers, Authorization included, to stderr.
    curl_easy_setopt(easy, CURLOPT_VERBOSE, 0L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t.error_buffer.data());
    // Redirects are followed here, not by curl: credentials must be dropped on origin changes.
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, header_callback);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, static_cast<void*>(&t));
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_callback);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, static_cast<void*>(&t));
    // A proxy's CONNECT answer is not the server's response.
    curl_easy_setopt(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    if (t.cancel) {
      curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, progress_callback);
      curl_easy_setopt(easy, CURLOPT_XFERINFODATA, static_cast<void*>(&t));
      curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
    }
    long connect_ms = t.connect_timeout_ms;
    if (t.deadline) {
      auto left = std::chrono::duration_cast<milliseconds>(*t.deadline - Clock::now()).count();
      long remaining = static_cast<long>(std::max<long long>(left, 1));
      curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, remaining);
      if (connect_ms <= 0 || connect_ms > remaining) connect_ms = remaining;
    }
    if (connect_ms > 0) curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    if (t.low_speed_limit > 0 && t.low_speed_time_s > 0) {
      curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, t.low_speed_limit);
      curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, t.low_speed_time_s);
    }
    curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 256L * 1024);
    curl_easy_setopt(easy, CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    if (t.negotiate) {
      // An empty user and password: the GSS-API credential cache supplies the identity.
      curl_easy_setopt(easy, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_NEGOTIATE));
      curl_easy_setopt(easy, CURLOPT_USERPWD, ":");
    }
    curl_easy_setopt(
        easy, CURLOPT_HTTP_VERSION,
        options.http2 ? static_cast<long>(CURL_HTTP_VERSION_2TLS) : static_cast<long>(CURL_HTTP_VERSION_1_1));
    // No CURLOPT_ACCEPT_ENCODING: decoded bytes would not match Content-Length or Range offsets.
    // No CURLOPT_PROXY: curl's own reading of HTTPS_PROXY / NO_PROXY applies.
    if (options.insecure) {
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
      curl_easy_setopt(easy, CURLOPT_PROXY_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(easy, CURLOPT_PROXY_SSL_VERIFYHOST, 0L);
    } else {
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
      if (!state_.ca_file.empty()) {
        curl_easy_setopt(easy, CURLOPT_CAINFO, state_.ca_file.c_str());
        curl_easy_setopt(easy, CURLOPT_PROXY_CAINFO, state_.ca_file.c_str());
      }
      if (!state_.ca_path.empty()) curl_easy_setopt(easy, CURLOPT_CAPATH, state_.ca_path.c_str());
    }

    const bool sends_body = t.has_body() || out.method == "POST" || out.method == "PUT" || out.method == "PATCH";
    if (out.method == "HEAD") {
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else if (sends_body) {
      // An upload with a known size: Content-Length, streamed through read_callback, rewindable.
      curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(out.body_size));
      curl_easy_setopt(easy, CURLOPT_READFUNCTION, read_callback);
      curl_easy_setopt(easy, CURLOPT_READDATA, static_cast<void*>(&t));
      curl_easy_setopt(easy, CURLOPT_SEEKFUNCTION, seek_callback);
      curl_easy_setopt(easy, CURLOPT_SEEKDATA, static_cast<void*>(&t));
      if (out.method != "PUT") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, out.method.c_str());
    } else if (out.method == "GET") {
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, out.method.c_str());
    }

    curl_slist* list = nullptr;
    auto append = [&](const std::string& line) -> bool {
      curl_slist* grown = curl_slist_append(list, line.c_str());
      if (grown == nullptr) return false;
      list = grown;
      return true;
    };
    bool ok = true;
    for (const auto& [name, value] : out.headers) {
      // "Name;" is how curl is told to send a header with an empty value.
      std::string line = name;
      if (value.empty()) {
        line += ';';
      } else {
        line += ": ";
        line += value;
      }
      ok = ok && append(line);
    }
    // Waiting for "100 Continue" costs a round trip, or a second with servers that never send it.
    if (!out.headers.contains("Expect")) ok = ok && append("Expect:");
    t.header_list = list;
    if (!ok) return internal_error(t.where() + ": out of memory building headers");
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t.header_list);
    if (!out.headers.contains("User-Agent")) curl_easy_setopt(easy, CURLOPT_USERAGENT, options.user_agent.c_str());
    // curl copies the URL and method strings; the header list lives in `t` until the attempt ends.
    // `t.url` stays unsigned, so a retry signs afresh and the response never shows a signature.
    return ok_status();
  }

  void process_messages() {
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      // The message dies with the handle: copy what is needed first.
      CURL* easy = message->easy_handle;
      CURLcode code = message->data.result;
      char* raw = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &raw);
      attempt_done(*reinterpret_cast<Transfer*>(raw), code);
    }
  }

  milliseconds backoff(const Transfer& t) {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    return backoff_delay(t.retries, state_.options.base_backoff, state_.options.max_backoff, unit(rng_));
  }

  // How long to wait before retrying after a retryable status: the server's Retry-After (capped)
  // when it gave one, else backoff.
  milliseconds status_delay(const Transfer& t) {
    if (auto value = t.attempt_headers.get("retry-after")) {
      if (auto delay = parse_retry_after(*value)) return std::min(*delay, state_.options.max_retry_after);
    }
    return backoff(t);
  }

  bool can_retry(const Transfer& t, milliseconds delay) const {
    if (t.retries >= t.max_retries || t.cancelled()) return false;
    return !t.deadline || Clock::now() + delay < *t.deadline;
  }

  void schedule(Transfer& t, milliseconds delay) {
    if (delay.count() <= 0) {
      ready_.push_back(&t);
    } else {
      timers_.emplace(Clock::now() + delay, &t);
    }
  }

  void retry(Transfer& t, milliseconds delay, bool resume) {
    ++t.retries;
    if (resume) ++t.resumes;
    log::debug("{} {} in {} ms (retry {} of {}): {}", resume ? "resuming" : "retrying", t.where(), delay.count(),
               t.retries, t.max_retries, t.last_failure);
    schedule(t, delay);
  }

  void attempt_done(Transfer& t, CURLcode code) {
    detach(t);
    if (t.abort_error) {
      Error error = std::move(*t.abort_error);
      t.abort_error.reset();
      finish(t, std::move(error));
      return;
    }
    if (t.cancelled()) {
      finish(t, cancelled_error(t));
      return;
    }
    const int status = t.attempt_status;
    std::optional<std::uint64_t> expected_length;
    if (code == CURLE_OK && t.headers_done && t.mode != BodyMode::kErrorBody && t.method != "HEAD" && status != 204 &&
        status != 304) {
      expected_length = content_length(t.attempt_headers);
    }
    const bool truncated = expected_length && *expected_length != t.attempt_bytes;
    if (code != CURLE_OK || truncated) {
      transport_failure(t, code, truncated ? expected_length : std::nullopt);
      return;
    }

    if (t.started) {
      if (status >= 200 && status < 300) {
        finish(t, build_response(t));
        return;
      }
      // on_headers_complete let only retryable statuses through on a resume.
      t.last_failure = fmt::format("HTTP {}", status);
      milliseconds delay = status_delay(t);
      if (can_retry(t, delay)) {
        retry(t, delay, true);
        return;
      }
      finish(t, resume_error(t, error_code_for_status(status), fmt::format("the server answered HTTP {}", status)));
      return;
    }
    if (status >= 200 && status < 300) {
      finish(t, build_response(t));
      return;
    }
    if (is_redirect_status(status) && t.follow_redirects) {
      if (auto location = t.attempt_headers.get("location"); location && !location->empty()) {
        if (t.redirects >= t.max_redirects) {
          finish(t, Error(ErrorCode::kNetwork, fmt::format("{}: more than {} redirects", t.where(), t.max_redirects)));
          return;
        }
        Status followed = follow_redirect(t, *location);
        if (!followed.ok()) {
          finish(t, std::move(followed).error());
          return;
        }
        ++t.redirects;
        schedule(t, milliseconds(0));
        return;
      }
    }
    if (is_retryable_status(status) && (t.idempotent || status == 429 || status == 503)) {
      t.last_failure = fmt::format("HTTP {}", status);
      milliseconds delay = status_delay(t);
      if (can_retry(t, delay)) {
        retry(t, delay, false);
        return;
      }
    }
    finish(t, build_response(t));
  }

  void transport_failure(Transfer& t, CURLcode code, std::optional<std::uint64_t> expected_length) {
    const bool truncated = expected_length.has_value();
    std::string what = truncated ? fmt::format("the body ended after {} of {} bytes", t.attempt_bytes, *expected_length)
                                 : describe_curl(code, t.error_buffer.data());
    const ErrorCode error_code = truncated ? ErrorCode::kNetwork : error_code_for_curl(code);
    t.last_failure = what;
    const bool retryable = truncated || is_retryable_curl(code);
    std::string deadline_note;
    if (t.deadline && Clock::now() >= *t.deadline) {
      deadline_note = fmt::format(" (total timeout of {} ms)", t.total_timeout.count());
    }

    if (t.started) {
      t.break_reason = what;
      t.break_code = error_code;
      if (!truncated && t.range_last && t.range_base + t.delivered == *t.range_last + 1) {
        // Every promised byte arrived; the failure came after the body.
        finish(t, build_response(t));
        return;
      }
      if (t.resumable && retryable) {
        milliseconds delay = backoff(t);
        if (can_retry(t, delay)) {
          retry(t, delay, true);
          return;
        }
      }
      finish(t, Error(error_code, fmt::format("{}: {} after {} bytes of the body{}{}", t.where(), what, t.delivered,
                                              attempts_suffix(t.attempts()), deadline_note)));
      return;
    }
    if (retryable && (t.idempotent || never_reached_server(code))) {
      milliseconds delay = backoff(t);
      if (can_retry(t, delay)) {
        retry(t, delay, false);
        return;
      }
    }
    finish(t,
           Error(error_code, fmt::format("{}: {}{}{}", t.where(), what, attempts_suffix(t.attempts()), deadline_note)));
  }

  Status follow_redirect(Transfer& t, const std::string& location) {
    auto next = resolve_url(t.url, location);
    if (!next.ok()) return Error(ErrorCode::kNetwork, t.where() + ": " + next.error().message());
    std::string scheme = url_scheme(*next);
    if (scheme != "http" && scheme != "https") {
      return Error(ErrorCode::kNetwork, fmt::format("{}: redirect to a {} URL refused", t.where(),
                                                    scheme.empty() ? "relative" : redact(scheme)));
    }
    const std::string next_origin = url_origin(*next);
    if (next_origin.empty() || next_origin != url_origin(t.url)) {
      for (std::string_view name : kCredentialHeaders) t.headers.remove(name);
      for (const auto& name : t.sensitive_headers) t.headers.remove(name);
      t.headers.remove("Host");
      t.credentials_dropped = true;
    }
    const int status = t.attempt_status;
    if ((status == 303 && t.method != "HEAD") || ((status == 301 || status == 302) && t.method == "POST")) {
      t.method = "GET";
      t.body = std::monostate{};
      for (std::string_view name : {"Content-Type", "Content-Length", "Content-Encoding", "Content-MD5",
                                    "Content-Language", "Transfer-Encoding"}) {
        t.headers.remove(name);
      }
    }
    log::debug("{}: following HTTP {} to {}", t.where(), status, display_url(*next));
    t.url = std::move(*next);
    return ok_status();
  }

  HttpResponse build_response(Transfer& t) {
    HttpResponse response;
    if (t.started) {
      response.status = t.status;
      response.reason = std::move(t.reason);
      response.headers = std::move(t.response_headers);
      response.body = std::move(t.body_buffer);
      response.body_bytes = t.delivered;
    } else {
      response.status = t.attempt_status;
      response.reason = std::move(t.attempt_reason);
      response.headers = std::move(t.attempt_headers);
      response.body = std::move(t.error_body);
      // Servers echo credentials back in error documents more often than one would think.
      for (const auto& secret : t.secret_values) replace_all(response.body, secret, "***");
      response.body_bytes = response.body.size();
    }
    if (response.reason.empty()) response.reason = std::string(reason_phrase(response.status));
    response.method = t.method;
    response.url = t.url;
    response.attempts = t.attempts();
    response.redirects = t.redirects;
    response.resumes = t.resumes;
    return response;
  }

  void finish(Transfer& t, Result<HttpResponse> result) {
    auto it = owned_.find(&t);
    if (it == owned_.end()) return;
    std::unique_ptr<Transfer> holder = std::move(it->second);
    owned_.erase(it);
    if (holder->done) {
      HttpClient::Completion done = std::move(holder->done);
      try {
        done(std::move(result));
      } catch (...) {
        log::error("an HTTP completion callback threw; ignored");
      }
    }
  }

  void shutdown_all() {
    for (auto& [raw, holder] : owned_) detach(*raw);
    ready_.clear();
    timers_.clear();
    std::vector<Transfer*> all;
    all.reserve(owned_.size());
    for (auto& [raw, holder] : owned_) all.push_back(raw);
    for (Transfer* t : all) {
      finish(*t, Error(ErrorCode::kCancelled, t->where() + ": cancelled: the HTTP client was shut down"));
    }
  }

  ClientState& state_;
  CURLM* multi_ = nullptr;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Transfer>> inbox_;
  bool stopping_ = false;

  // Loop thread only.
  std::unordered_map<Transfer*, std::unique_ptr<Transfer>> owned_;
  std::deque<Transfer*> ready_;                         // waiting for a slot
  std::multimap<Clock::time_point, Transfer*> timers_;  // waiting out a backoff
  std::mt19937_64 rng_;
};

void ClientState::wake_others(const EventLoop* self) {
  if (loops.size() < 2) return;
  for (auto& loop : loops) {
    if (loop.get() != self) loop->wake();
  }
}

}  // namespace internal

struct HttpClient::Impl {
  std::unique_ptr<internal::ClientState> state;

  ~Impl() {
    if (!state) return;
    for (auto& loop : state->loops) loop->stop();
    state->loops.clear();
    if (state->share != nullptr) curl_share_cleanup(state->share);
  }
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::create(HttpClientOptions options) {
  if (internal::init_curl_once() != CURLE_OK) return internal_error("cannot initialise libcurl");
  if (options.event_loops < 1) options.event_loops = 1;
  if (options.max_retries < 0) options.max_retries = 0;

  auto impl = std::make_unique<Impl>();
  impl->state = std::make_unique<internal::ClientState>(std::move(options));
  internal::ClientState& state = *impl->state;
  const HttpClientOptions& opts = state.options;

  if (!opts.ca_bundle.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(opts.ca_bundle, ec)) {
      return invalid_argument("CA bundle " + opts.ca_bundle + " does not exist or is not a file");
    }
    state.ca_file = opts.ca_bundle;
  } else {
    if (auto file = get_env("SSL_CERT_FILE")) state.ca_file = *file;
    if (auto dir = get_env("SSL_CERT_DIR")) state.ca_path = *dir;
  }
  if (opts.insecure) log::warn("TLS certificate verification is off (insecure): servers are not authenticated");

  if (opts.event_loops > 1) {
    // Loops on different threads share DNS answers, TLS sessions and idle connections.
    state.share = curl_share_init();
    if (state.share == nullptr) return internal_error("curl_share_init failed");
    curl_share_setopt(state.share, CURLSHOPT_LOCKFUNC, internal::share_lock);
    curl_share_setopt(state.share, CURLSHOPT_UNLOCKFUNC, internal::share_unlock);
    curl_share_setopt(state.share, CURLSHOPT_USERDATA, static_cast<void*>(&state));
    curl_share_setopt(state.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(state.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(state.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  }
  // All loops exist before any runs: a running loop reads `loops` to wake its peers.
  for (int i = 0; i < opts.event_loops; ++i) state.loops.push_back(std::make_unique<internal::EventLoop>(state));
  for (auto& loop : state.loops) {
    if (!loop->start()) return internal_error("cannot start an HTTP event loop");
  }
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

const HttpClientOptions& HttpClient::options() const {
  return impl_->state->options;
}

void HttpClient::submit(HttpRequest request, HttpSink sink, Completion done) {
  const HttpClientOptions& opts = impl_->state->options;
  std::string scheme = url_scheme(request.url);
  if (scheme != "http" && scheme != "https") {
    if (done) {
      done(invalid_argument(
          fmt::format("{} {}: only http:// and https:// URLs can be sent", request.method, display_url(request.url))));
    }
    return;
  }
  if (request.method.empty() || request.method.find_first_of(" \r\n") != std::string::npos) {
    if (done) done(invalid_argument(display_url(request.url) + ": bad HTTP method"));
    return;
  }
  if (const auto* source = std::get_if<BodySource>(&request.body); source != nullptr && !source->read) {
    if (done) done(invalid_argument(request.method + " " + display_url(request.url) + ": body source without read"));
    return;
  }

  auto t = std::make_unique<internal::Transfer>();
  const RequestOptions& ro = request.options;
  t->sink = std::move(sink);
  t->done = std::move(done);
  t->signer = std::move(request.signer);
  t->sensitive_headers = std::move(request.sensitive_headers);
  t->cancel = ro.cancel;
  t->original_origin = url_origin(request.url);
  t->follow_redirects = ro.follow_redirects;
  t->max_redirects = std::max(ro.max_redirects, 0);
  t->max_retries = std::max(ro.max_retries.value_or(opts.max_retries), 0);
  t->idempotent = ro.idempotent.value_or(is_idempotent_method(request.method));
  t->resume_enabled = ro.resume;
  t->negotiate = ro.negotiate;
  t->connect_timeout_ms = static_cast<long>(ro.connect_timeout.value_or(opts.connect_timeout).count());
  t->low_speed_limit = ro.low_speed_limit.value_or(opts.low_speed_limit);
  t->low_speed_time_s = static_cast<long>(ro.low_speed_time.value_or(opts.low_speed_time).count());
  if (auto total = ro.total_timeout ? ro.total_timeout : opts.total_timeout) {
    t->total_timeout = *total;
    t->deadline = std::chrono::steady_clock::now() + *total;
  }
  t->max_error_body = opts.max_error_body;
  t->method = std::move(request.method);
  t->url = std::move(request.url);
  t->headers = std::move(request.headers);
  t->body = std::move(request.body);
  t->range = request.range;

  auto& loops = impl_->state->loops;
  auto& loop = loops[impl_->state->next_loop.fetch_add(1, std::memory_order_relaxed) % loops.size()];
  if (!loop->post(t)) {
    if (t->done) t->done(Error(ErrorCode::kCancelled, t->where() + ": cancelled: the HTTP client was shut down"));
  }
}

std::future<Result<HttpResponse>> HttpClient::submit(HttpRequest request, HttpSink sink) {
  auto promise = std::make_shared<std::promise<Result<HttpResponse>>>();
  std::future<Result<HttpResponse>> future = promise->get_future();
  submit(std::move(request), std::move(sink),
         [promise](Result<HttpResponse> result) { promise->set_value(std::move(result)); });
  return future;
}

Result<HttpResponse> HttpClient::send(HttpRequest request) {
  return send(std::move(request), HttpSink{});
}

Result<HttpResponse> HttpClient::send(HttpRequest request, HttpSink sink) {
  if (internal::t_on_loop_thread) {
    return internal_error("HttpClient::send() called from an HTTP callback would wait for itself; use submit()");
  }
  return submit(std::move(request), std::move(sink)).get();
}

std::vector<Result<HttpResponse>> HttpClient::send_all(std::vector<HttpRequest> requests) {
  std::vector<std::future<Result<HttpResponse>>> futures;
  futures.reserve(requests.size());
  if (internal::t_on_loop_thread) {
    std::vector<Result<HttpResponse>> refused;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      refused.emplace_back(internal_error("HttpClient::send_all() called from an HTTP callback; use submit()"));
    }
    return refused;
  }
  for (auto& request : requests) futures.push_back(submit(std::move(request)));
  std::vector<Result<HttpResponse>> results;
  results.reserve(futures.size());
  for (auto& future : futures) results.push_back(future.get());
  return results;
}

}  // namespace airlock::net
