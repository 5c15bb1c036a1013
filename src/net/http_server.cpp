#include "net/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "core/log.h"
#include "core/redact.h"
#include "core/strings.h"
#include "core/thread_pool.h"
#include "core/version.h"

namespace airlock::net {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kListenId = 0;
constexpr std::uint64_t kWakeId = 1;
constexpr std::uint64_t kFirstConnectionId = 2;
constexpr std::size_t kReadChunk = 64 * 1024;
// Read ahead of the request being handled (pipelined requests, and noticing a client that
// leaves), beyond the largest head.
constexpr std::size_t kReadAhead = 64 * 1024;
// Pipelined requests are not parsed while this much of earlier answers is still unsent, so a
// client that sends without reading cannot make the server buffer without bound.
constexpr std::size_t kOutputHighWater = 256 * 1024;
constexpr std::chrono::milliseconds kSweepInterval{100};
// Connections over max_connections that are being answered 503 (beyond: closed at once).
constexpr std::uint64_t kMaxRejectsInFlight = 64;

const char* const kKnownMethods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};

bool is_known_method(std::string_view method) {
  return std::any_of(std::begin(kKnownMethods), std::end(kKnownMethods),
                     [&](const char* known) { return method == known; });
}

// Headers the server writes itself; a handler's values for them are dropped.
bool is_managed_header(std::string_view name) {
  return header_name_equals(name, "content-length") || header_name_equals(name, "transfer-encoding") ||
         header_name_equals(name, "connection") || header_name_equals(name, "date") ||
         header_name_equals(name, "server") || header_name_equals(name, "keep-alive");
}

bool is_safe_header_value(std::string_view value) {
  return std::none_of(value.begin(), value.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

std::string format_address(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(address);
    inet_ntop(AF_INET, &in.sin_addr, text, sizeof(text));
    return fmt::format("{}:{}", text, ntohs(in.sin_port));
  }
  if (address.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
    inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof(text));
    return fmt::format("[{}]:{}", text, ntohs(in6.sin6_port));
  }
  return "-";
}

enum class Io { kOk, kWouldBlock, kEof, kError };
struct IoResult {
  Io status = Io::kError;
  std::size_t bytes = 0;
};

enum class ConnState { kHandshake, kHead, kBody, kHandling, kStreaming, kClosing, kLinger };

struct Connection {
  std::uint64_t id = 0;
  int fd = -1;
  SSL* ssl = nullptr;
  bool counted = true;  // in open_connections (false for a 503 answer over the limit)
  bool closed = false;
  std::string remote;
  ConnState state = ConnState::kHead;
  std::uint32_t interest = 0;

  std::string in;
  std::size_t in_pos = 0;
  std::size_t head_scanned = 0;
  bool peer_closed = false;  // read EOF: the client sent everything it will
  bool expect_more_input = false;  // closing without having read all the client sent
  bool read_paused = false;  // read-ahead is full
  std::string out;
  std::size_t out_pos = 0;
  bool tls_read_wants_write = false;
  bool tls_write_wants_read = false;

  Clock::time_point opened;
  Clock::time_point idle_since;
  Clock::time_point request_start;
  Clock::time_point body_start;
  Clock::time_point linger_start;
  Clock::time_point last_write;

  // The request in progress.
  RequestHead head;
  bool have_head = false;
  std::string body;
  std::uint64_t body_left = 0;
  std::optional<ChunkedDecoder> chunked;
  const Route* route = nullptr;
  std::vector<std::pair<std::string, std::string>> params;

  // Its exchange with a handler.
  std::uint64_t seq = 0;
  bool exchange_active = false;
  std::shared_ptr<detail::CancelState> cancel;
  std::shared_ptr<detail::StreamFlow> flow;
  bool stream_chunked = false;
  bool keep_alive = false;  // of the response being sent
  int response_status = 0;
  std::uint64_t response_bytes = 0;

  std::size_t unsent() const { return out.size() - out_pos; }
  std::size_t unread() const { return in.size() - in_pos; }
};

struct Mailbox {
  std::mutex mutex;
  std::vector<std::function<void()>> queue;
  int event_fd = -1;
  bool closed = false;
  std::atomic<bool> pending{false};  // the queue is not empty

  ~Mailbox() {
    if (event_fd >= 0) ::close(event_fd);
  }

  // `wake`: false from the loop's own thread, which looks at the queue before it sleeps again.
  // Everything goes through this one queue so that the events of an exchange, posted from
  // whichever threads held it, run in the order they were posted.
  bool post(std::function<void()> task, bool wake_loop = true) {
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (closed) return false;
      wake = wake_loop && queue.empty();
      queue.push_back(std::move(task));
      pending.store(true, std::memory_order_release);
    }
    if (wake) {
      std::uint64_t one = 1;
      [[maybe_unused]] ssize_t written = ::write(event_fd, &one, sizeof(one));
    }
    return true;
  }

  std::vector<std::function<void()>> take(bool clear_wakeup = true) {
    if (clear_wakeup) {
      std::uint64_t count = 0;
      [[maybe_unused]] ssize_t got = ::read(event_fd, &count, sizeof(count));
    }
    std::vector<std::function<void()>> tasks;
    std::lock_guard<std::mutex> lock(mutex);
    tasks.swap(queue);
    pending.store(false, std::memory_order_release);
    return tasks;
  }

  // Later posts are dropped; what is queued is returned to be destroyed outside the lock.
  std::vector<std::function<void()>> close() {
    std::vector<std::function<void()>> tasks;
    std::lock_guard<std::mutex> lock(mutex);
    closed = true;
    tasks.swap(queue);
    return tasks;
  }
};

struct Counters {
  std::atomic<std::uint64_t> open{0};
  std::atomic<std::uint64_t> live{0};  // open plus 503 answers over the limit
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> in_flight{0};
  std::atomic<std::uint64_t> served{0};
};

struct Shared {
  HttpServerOptions options;
  Router router;
  std::shared_ptr<TlsServerContext> tls;
  int listen_fd = -1;
  Counters counters;
  std::atomic<bool> draining{false};
  std::unique_ptr<ThreadPool> pool;
};

class Loop {
 public:
  explicit Loop(Shared& shared) : shared_(shared), mailbox_(std::make_shared<Mailbox>()) {}
  ~Loop() {
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    if (spare_fd_ >= 0) ::close(spare_fd_);
  }

  Status init() {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) return errno_error("epoll_create1", errno);
    mailbox_->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (mailbox_->event_fd < 0) return errno_error("eventfd", errno);
    epoll_event wake{};
    wake.events = EPOLLIN;
    wake.data.u64 = kWakeId;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, mailbox_->event_fd, &wake) != 0) return errno_error("epoll_ctl", errno);
    // Several loops share the listening socket; EPOLLEXCLUSIVE wakes one of them per connection.
    epoll_event listen{};
    listen.events = EPOLLIN | EPOLLEXCLUSIVE;
    listen.data.u64 = kListenId;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, shared_.listen_fd, &listen) != 0) return errno_error("epoll_ctl", errno);
    listening_ = true;
    spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    return ok_status();
  }

  void start() {
    thread_ = std::thread([this] { run(); });
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  bool on_loop_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

  // Runs `task` on the loop thread; false when the loop is gone.
  bool post(std::function<void()> task) { return mailbox_->post(std::move(task)); }
  // The same, from the loop thread itself.
  void post_quiet(std::function<void()> task) { mailbox_->post(std::move(task), false); }

  void stop_listening() {
    if (listening_) {
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, shared_.listen_fd, nullptr);
      listening_ = false;
    }
    now_ = Clock::now();
    for (auto& [id, connection] : connections_) {
      if (!connection->closed && is_idle(*connection)) close_connection(*connection);
    }
  }

  void request_stop() { stop_ = true; }

 private:
  void run();
  void run_posted(bool woken);
  void on_accept();
  void on_event(Connection& c, std::uint32_t events);
  void on_exchange_event(std::uint64_t id, std::uint64_t seq, detail::ExchangeEvent event);
  void service(Connection& c, bool readable, bool writable);
  void handshake(Connection& c);
  void read_input(Connection& c);
  void process_input(Connection& c);
  bool flush(Connection& c);
  void start_request(Connection& c, RequestHead head);
  void consume_body(Connection& c);
  void dispatch(Connection& c);
  void reject(Connection& c, int status, std::string_view message, bool close, HttpHeaders extra = {});
  void queue_response(Connection& c, ServerResponse response);
  void start_stream(Connection& c, ServerResponse head);
  void append_head(Connection& c, int status, const HttpHeaders& headers, std::optional<std::uint64_t> length,
                   bool chunked);
  void complete_response(Connection& c);
  void log_access(const Connection& c, int status, std::uint64_t bytes);
  void begin_linger(Connection& c);
  void close_connection(Connection& c);
  void update_interest(Connection& c);
  void sweep();
  void prepare_output(Connection& c);
  const std::string& date();
  IoResult read_some(Connection& c, char* buffer, std::size_t size);
  IoResult write_some(Connection& c, const char* data, std::size_t size);
  std::size_t read_cap(const Connection& c) const;
  bool is_idle(const Connection& c) const {
    return c.state == ConnState::kHead && c.unread() == 0 && c.unsent() == 0;
  }

  Shared& shared_;
  std::shared_ptr<Mailbox> mailbox_;
  int epoll_fd_ = -1;
  int spare_fd_ = -1;
  bool listening_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::thread::id thread_id_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;
  std::vector<std::uint64_t> dead_;
  std::uint64_t next_id_ = kFirstConnectionId;
  Clock::time_point now_ = Clock::now();
  Clock::time_point last_sweep_ = Clock::now();
  std::time_t date_second_ = 0;
  std::string date_;
  std::vector<char> scratch_ = std::vector<char>(kReadChunk);
  Clock::time_point last_emfile_warning_;
};

void Loop::run() {
  thread_id_ = std::this_thread::get_id();
  // TLS writes go through write(2), which raises SIGPIPE on a reset connection; blocked here it
  // stays pending on this thread and the write just fails with EPIPE.
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);

  std::vector<epoll_event> events(256);
  while (!stop_) {
    run_posted(false);  // what this thread posted itself (it wrote no wakeup for it)
    for (std::uint64_t id : dead_) connections_.erase(id);
    dead_.clear();
    if (stop_) break;
    int timeout = -1;
    if (!connections_.empty()) {
      auto since = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - last_sweep_);
      timeout = static_cast<int>(std::max<std::int64_t>(0, (kSweepInterval - since).count()));
    }
    int count = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout);
    if (count < 0 && errno != EINTR) {
      log::error("http server: epoll_wait failed: {}", std::strerror(errno));
      break;
    }
    now_ = Clock::now();
    for (int i = 0; i < count; ++i) {
      std::uint64_t id = events[i].data.u64;
      if (id == kListenId) {
        if (listening_) on_accept();
      } else if (id == kWakeId) {
        run_posted(true);
      } else {
        auto it = connections_.find(id);
        if (it != connections_.end() && !it->second->closed) on_event(*it->second, events[i].events);
      }
      run_posted(false);
    }
    if (now_ - last_sweep_ >= kSweepInterval) sweep();
    for (std::uint64_t id : dead_) connections_.erase(id);
    dead_.clear();
  }
  now_ = Clock::now();
  for (auto& [id, connection] : connections_) close_connection(*connection);
  connections_.clear();
  dead_.clear();
  // Destroyed outside the mailbox lock: an event may own the last reference to something that
  // posts again (which is then dropped).
  auto leftover = mailbox_->close();
  leftover.clear();
}

void Loop::run_posted(bool woken) {
  // Tasks may post more (from this thread, without a wakeup): run until the queue stays empty.
  while (woken || mailbox_->pending.load(std::memory_order_acquire)) {
    auto tasks = mailbox_->take(woken);
    woken = false;
    for (auto& task : tasks) {
      now_ = Clock::now();
      task();
    }
  }
}

void Loop::on_accept() {
  const HttpServerOptions& options = shared_.options;
  Counters& counters = shared_.counters;
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    int fd = accept4(shared_.listen_fd, reinterpret_cast<sockaddr*>(&address), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && spare_fd_ >= 0) {
        // Out of descriptors: accept and close one with the spare, or the listening socket would
        // stay readable and spin this loop.
        ::close(spare_fd_);
        int shed = accept4(shared_.listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (shed >= 0) ::close(shed);
        spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        counters.rejected.fetch_add(1, std::memory_order_relaxed);
        if (now_ - last_emfile_warning_ > std::chrono::seconds(10)) {
          last_emfile_warning_ = now_;
          log::warn("http server: out of file descriptors; refusing connections (raise `ulimit -n` or lower max_connections)");
        }
        continue;
      }
      break;
    }
    counters.accepted.fetch_add(1, std::memory_order_relaxed);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    bool over = counters.open.fetch_add(1, std::memory_order_acq_rel) >= options.max_connections;
    if (over) {
      counters.open.fetch_sub(1, std::memory_order_acq_rel);
      counters.rejected.fetch_add(1, std::memory_order_relaxed);
      std::uint64_t rejects = counters.live.load(std::memory_order_relaxed) - counters.open.load(std::memory_order_relaxed);
      // Over TLS a plain 503 would be garbage to the client; and too many pending rejects cost more
      // than they are worth: close those at once.
      if (shared_.tls || rejects >= kMaxRejectsInFlight) {
        ::close(fd);
        continue;
      }
    }
    counters.live.fetch_add(1, std::memory_order_relaxed);

    auto connection = std::make_unique<Connection>();
    Connection& c = *connection;
    c.id = next_id_++;
    c.fd = fd;
    c.counted = !over;
    c.remote = format_address(address);
    c.opened = c.idle_since = c.request_start = c.last_write = now_;
    c.state = ConnState::kHead;
    if (shared_.tls && !over) {
      c.ssl = SSL_new(shared_.tls->native());
      if (c.ssl == nullptr || SSL_set_fd(c.ssl, fd) != 1) {
        log::warn("http server: cannot start TLS on a connection: {}", take_openssl_error());
        if (c.ssl) SSL_free(c.ssl);
        ::close(fd);
        counters.open.fetch_sub(1, std::memory_order_relaxed);
        counters.live.fetch_sub(1, std::memory_order_relaxed);
        continue;
      }
      SSL_set_accept_state(c.ssl);
      c.state = ConnState::kHandshake;
    }
    epoll_event event{};
    event.events = EPOLLIN | EPOLLRDHUP;
    event.data.u64 = c.id;
    c.interest = event.events;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
      log::warn("http server: epoll_ctl: {}", std::strerror(errno));
      if (c.ssl) SSL_free(c.ssl);
      ::close(fd);
      if (c.counted) counters.open.fetch_sub(1, std::memory_order_relaxed);
      counters.live.fetch_sub(1, std::memory_order_relaxed);
      continue;
    }
    connections_.emplace(c.id, std::move(connection));
    if (over) {
      reject(c, 503, "the server has too many open connections; retry later", true);
      service(c, false, true);
    }
  }
}

void Loop::on_event(Connection& c, std::uint32_t events) {
  if (events & EPOLLERR) {
    close_connection(c);
    return;
  }
  if ((events & EPOLLHUP) && !(events & EPOLLIN)) {
    close_connection(c);
    return;
  }
  bool readable = (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0;
  bool writable = (events & EPOLLOUT) != 0;
  if ((events & EPOLLRDHUP) && c.read_paused) c.peer_closed = true;  // a FIN behind unread bytes
  if (c.ssl) {
    // A TLS read may need the socket writable and a write readable (key updates).
    readable = readable || (writable && c.tls_read_wants_write);
    writable = writable || (readable && c.tls_write_wants_read);
  }
  service(c, readable, writable);
}

void Loop::service(Connection& c, bool readable, bool writable) {
  if (c.closed) return;
  if (c.state == ConnState::kHandshake) {
    handshake(c);
    if (c.closed || c.state == ConnState::kHandshake) {
      if (!c.closed) update_interest(c);
      return;
    }
    readable = true;  // the handshake may have brought application data along
  }
  if (writable && c.unsent() > 0 && !flush(c)) return;
  if (readable) {
    read_input(c);
    if (c.closed) return;
  }
  process_input(c);
  if (c.closed) return;
  if (c.unsent() > 0 && !flush(c)) return;
  if (c.state == ConnState::kHead && c.unsent() == 0 && c.unread() > 0) {
    process_input(c);  // pipelined requests held back while earlier answers were unsent
    if (c.closed) return;
    if (c.unsent() > 0 && !flush(c)) return;
  }
  if (c.state == ConnState::kClosing && c.unsent() == 0) begin_linger(c);
  if (c.closed) return;
  if (shared_.draining.load(std::memory_order_relaxed) && is_idle(c)) {
    close_connection(c);
    return;
  }
  // Reading stopped at the read-ahead limit and there is room again: plain sockets are reported
  // readable by epoll, but bytes already decrypted inside OpenSSL are not.
  if (c.ssl && c.read_paused && !c.peer_closed && c.unread() < read_cap(c)) {
    post_quiet([this, id = c.id] {
      auto it = connections_.find(id);
      if (it != connections_.end() && !it->second->closed) service(*it->second, true, false);
    });
  }
  update_interest(c);
}

void Loop::handshake(Connection& c) {
  ERR_clear_error();
  c.tls_read_wants_write = false;
  int result = SSL_do_handshake(c.ssl);
  if (result == 1) {
    c.state = ConnState::kHead;
    c.idle_since = now_;
    return;
  }
  int error = SSL_get_error(c.ssl, result);
  if (error == SSL_ERROR_WANT_READ) return;
  if (error == SSL_ERROR_WANT_WRITE) {
    c.tls_read_wants_write = true;
    return;
  }
  log::debug("http server: TLS handshake with {} failed: {}", c.remote, take_openssl_error());
  close_connection(c);
}

IoResult Loop::read_some(Connection& c, char* buffer, std::size_t size) {
  if (c.ssl) {
    ERR_clear_error();
    c.tls_read_wants_write = false;
    int n = SSL_read(c.ssl, buffer, static_cast<int>(std::min<std::size_t>(size, INT32_MAX)));
    if (n > 0) return {Io::kOk, static_cast<std::size_t>(n)};
    switch (SSL_get_error(c.ssl, n)) {
      case SSL_ERROR_WANT_READ:
        return {Io::kWouldBlock, 0};
      case SSL_ERROR_WANT_WRITE:
        c.tls_read_wants_write = true;
        return {Io::kWouldBlock, 0};
      case SSL_ERROR_ZERO_RETURN:
        return {Io::kEof, 0};
      default:
        ERR_clear_error();
        return {Io::kError, 0};
    }
  }
  while (true) {
    ssize_t n = ::recv(c.fd, buffer, size, 0);
    if (n > 0) return {Io::kOk, static_cast<std::size_t>(n)};
    if (n == 0) return {Io::kEof, 0};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {Io::kWouldBlock, 0};
    return {Io::kError, 0};
  }
}

IoResult Loop::write_some(Connection& c, const char* data, std::size_t size) {
  if (c.ssl) {
    ERR_clear_error();
    c.tls_write_wants_read = false;
    int n = SSL_write(c.ssl, data, static_cast<int>(std::min<std::size_t>(size, 1 << 20)));
    if (n > 0) return {Io::kOk, static_cast<std::size_t>(n)};
    switch (SSL_get_error(c.ssl, n)) {
      case SSL_ERROR_WANT_WRITE:
        return {Io::kWouldBlock, 0};
      case SSL_ERROR_WANT_READ:
        c.tls_write_wants_read = true;
        return {Io::kWouldBlock, 0};
      default:
        ERR_clear_error();
        return {Io::kError, 0};
    }
  }
  while (true) {
    ssize_t n = ::send(c.fd, data, size, MSG_NOSIGNAL);
    if (n >= 0) return {Io::kOk, static_cast<std::size_t>(n)};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {Io::kWouldBlock, 0};
    return {Io::kError, 0};
  }
}

std::size_t Loop::read_cap(const Connection& c) const {
  if (c.state == ConnState::kLinger) return SIZE_MAX;
  return shared_.options.limits.max_head_bytes + kReadAhead;
}

void Loop::read_input(Connection& c) {
  if (c.peer_closed) return;
  // Read in bounded rounds so one fast client cannot starve the others on this loop.
  for (int round = 0; round < 16; ++round) {
    if (c.state == ConnState::kLinger) {
      c.in.clear();
      c.in_pos = 0;
    } else if (c.in_pos == c.in.size()) {
      c.in.clear();
      c.in_pos = 0;
    } else if (c.in_pos > kReadAhead) {
      c.in.erase(0, c.in_pos);
      c.in_pos = 0;
    }
    if (c.unread() >= read_cap(c)) {
      c.read_paused = true;
      return;
    }
    c.read_paused = false;
    std::size_t room = std::min(scratch_.size(), read_cap(c) - c.unread());
    IoResult result = read_some(c, scratch_.data(), room);
    if (result.status == Io::kOk) {
      if (c.state == ConnState::kHead && c.unread() == 0) c.request_start = now_;
      c.in.append(scratch_.data(), result.bytes);
      if (result.bytes < room && !c.ssl) return;  // drained; level-triggered epoll reports more
      continue;
    }
    // (After the last round, plain sockets with more data are reported again by epoll; see below
    // for TLS.)
    if (result.status == Io::kWouldBlock) return;
    if (result.status == Io::kEof) {
      c.peer_closed = true;
      return;
    }
    close_connection(c);
    return;
  }
  // Decrypted bytes waiting inside OpenSSL make no socket readable: come back for them.
  if (c.ssl && SSL_pending(c.ssl) > 0) {
    post_quiet([this, id = c.id] {
      auto it = connections_.find(id);
      if (it != connections_.end() && !it->second->closed) service(*it->second, true, false);
    });
  }
}

void Loop::process_input(Connection& c) {
  while (!c.closed) {
    switch (c.state) {
      case ConnState::kHandshake:
        return;
      case ConnState::kHead: {
        if (c.unread() == 0) {
          if (c.peer_closed) close_connection(c);
          return;
        }
        if (c.unsent() > kOutputHighWater) return;
        std::string_view input(c.in.data() + c.in_pos, c.unread());
        HeadParse parsed = parse_request_head(input, shared_.options.limits, c.head_scanned);
        if (parsed.state == HeadParse::State::kIncomplete) {
          c.head_scanned = parsed.scanned;
          if (c.peer_closed) close_connection(c);
          return;
        }
        c.head_scanned = 0;
        if (parsed.state == HeadParse::State::kError) {
          // The framing of what follows is unknown: answer and close.
          reject(c, parsed.error.status, parsed.error.message, true);
          break;
        }
        c.in_pos += parsed.consumed;
        start_request(c, std::move(parsed.head));
        break;
      }
      case ConnState::kBody:
        consume_body(c);
        if (c.state == ConnState::kBody) {
          if (c.peer_closed) close_connection(c);  // the client gave up mid-body
          return;
        }
        break;
      case ConnState::kHandling:
      case ConnState::kStreaming:
        if (c.peer_closed && c.cancel) {
          auto cancel = c.cancel;
          cancel->fire();
        }
        return;
      case ConnState::kClosing:
        return;
      case ConnState::kLinger:
        c.in.clear();
        c.in_pos = 0;
        if (c.peer_closed) close_connection(c);
        return;
    }
  }
}

void Loop::start_request(Connection& c, RequestHead head) {
  c.head = std::move(head);
  c.have_head = true;
  c.body.clear();
  c.route = nullptr;
  c.params.clear();
  bool has_body = c.head.framing != BodyFraming::kNone;
  const std::string& method = c.head.method;

  if (!is_known_method(method)) {
    reject(c, 501, fmt::format("method {} is not supported", method), has_body);
    return;
  }
  if (c.head.path == "*") {
    HttpHeaders allow{{"Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"}};
    ServerResponse response;
    response.status = 204;
    response.headers = allow;
    if (has_body) c.head.keep_alive = false;
    queue_response(c, std::move(response));
    return;
  }
  RouteMatch match = shared_.router.match(method, c.head.path);
  if (match.route == nullptr) {
    if (match.allowed.empty()) {
      reject(c, 404, fmt::format("no route for {} {}", method, c.head.path), has_body);
      return;
    }
    std::string allow;
    for (const auto& name : match.allowed) allow += (allow.empty() ? "" : ", ") + name;
    if (method == "OPTIONS") {
      ServerResponse response;
      response.status = 204;
      response.headers.set("Allow", allow);
      if (has_body) c.head.keep_alive = false;
      queue_response(c, std::move(response));
      return;
    }
    reject(c, 405, fmt::format("{} is not allowed on {} (allowed: {})", method, c.head.path, allow), has_body,
           HttpHeaders{{"Allow", allow}});
    return;
  }
  c.route = match.route;
  c.params = std::move(match.params);
  std::uint64_t limit = c.route->options.max_body_bytes.value_or(shared_.options.max_body_bytes);
  if (c.head.framing == BodyFraming::kContentLength && c.head.content_length > limit) {
    // Decided from the header alone: the body is never read (and no 100 Continue invites it).
    reject(c, 413, fmt::format("request body of {} bytes is larger than the limit of {} bytes", c.head.content_length,
                               limit),
           true);
    return;
  }
  if (!has_body) {
    dispatch(c);
    return;
  }
  if (c.head.framing == BodyFraming::kChunked) {
    c.chunked.emplace(limit, shared_.options.limits);
  } else {
    c.body_left = c.head.content_length;
    c.body.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(c.body_left, std::uint64_t{1} << 20)));
  }
  if (c.head.expect_continue && c.unread() == 0) {
    prepare_output(c);
    c.out += "HTTP/1.1 100 Continue\r\n\r\n";
  }
  c.state = ConnState::kBody;
  c.body_start = now_;
}

void Loop::consume_body(Connection& c) {
  std::string_view input(c.in.data() + c.in_pos, c.unread());
  if (c.chunked) {
    auto used = c.chunked->feed(input, c.body);
    if (!used.ok()) {
      reject(c, c.chunked->error_status(), used.error().message(), true);
      return;
    }
    c.in_pos += *used;
    if (c.chunked->done()) {
      c.chunked.reset();
      dispatch(c);
    }
    return;
  }
  std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(c.body_left, input.size()));
  c.body.append(input.data(), take);
  c.in_pos += take;
  c.body_left -= take;
  if (c.body_left == 0) dispatch(c);
}

void Loop::dispatch(Connection& c) {
  c.state = ConnState::kHandling;
  ++c.seq;
  c.exchange_active = true;
  shared_.counters.in_flight.fetch_add(1, std::memory_order_relaxed);

  auto cancel = std::make_shared<detail::CancelState>();
  auto flow = std::make_shared<detail::StreamFlow>();
  cancel->add([flow] { flow->close(); });  // wakes a writer blocked on a departed client
  c.cancel = cancel;
  c.flow = flow;

  auto state = std::make_shared<detail::ExchangeState>();
  state->post = [mailbox = mailbox_, loop = this, loop_thread = thread_id_, id = c.id,
                 seq = c.seq](detail::ExchangeEvent event) {
    auto task = [loop, id, seq, event = std::move(event)]() mutable {
      loop->on_exchange_event(id, seq, std::move(event));
    };
    // On the loop's own thread (a handler run on the loop, an on_cancel callback) the loop is
    // awake and looks at its queue before sleeping: no eventfd round trip.
    mailbox->post(std::move(task), std::this_thread::get_id() != loop_thread);
  };
  state->cancel = cancel;
  state->flow = flow;
  state->head_request = c.head.method == "HEAD";

  ServerRequest request;
  request.method = c.head.method;
  request.target = std::move(c.head.target);
  request.path = c.head.path;
  request.query = std::move(c.head.query);
  request.version_minor = c.head.version_minor;
  request.headers = std::move(c.head.headers);
  request.body = std::move(c.body);
  request.params = std::move(c.params);
  request.remote_address = c.remote;
  request.tls = c.ssl != nullptr;
  request.cancel = cancel->flag(cancel);
  c.body.clear();

  const Route* route = c.route;
  auto run = [route, request = std::move(request), held = Responder(std::move(state))]() mutable {
    // Moved out so that this task keeps no reference once it ran (a std::future may keep the
    // task itself alive): the exchange must end on the thread that ends it.
    Responder responder = std::move(held);
    if (responder.cancelled()) return;  // the client left while this waited for a worker
    // Exceptions stop here: a handler's failure is a 500 for its client, not a dead server.
    try {
      route->handler(std::move(request), responder);
    } catch (const std::exception& e) {
      log::error("http server: handler for {} {} threw: {}", route->method, route->pattern, e.what());
      responder.respond(ServerResponse::error(500, "internal error in the request handler"));
    } catch (...) {
      log::error("http server: handler for {} {} threw", route->method, route->pattern);
      responder.respond(ServerResponse::error(500, "internal error in the request handler"));
    }
  };
  if (route->options.on_event_loop) {
    run();  // its answer arrives through the mailbox, after the events in hand
  } else {
    shared_.pool->submit(std::move(run));
  }
}

void Loop::on_exchange_event(std::uint64_t id, std::uint64_t seq, detail::ExchangeEvent event) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Connection& c = *it->second;
  if (c.closed || c.seq != seq || !c.exchange_active) return;
  using Kind = detail::ExchangeEvent::Kind;
  switch (event.kind) {
    case Kind::kResponse:
      if (c.state != ConnState::kHandling) return;
      queue_response(c, std::move(event.response));
      break;
    case Kind::kStreamHead:
      if (c.state != ConnState::kHandling) return;
      start_stream(c, std::move(event.response));
      break;
    case Kind::kStreamData: {
      {
        std::lock_guard<std::mutex> lock(c.flow->mutex);
        c.flow->posted -= std::min(c.flow->posted, event.data.size());
      }
      if (c.state != ConnState::kStreaming) return;
      prepare_output(c);
      if (c.stream_chunked) c.out += fmt::format("{:x}\r\n", event.data.size());
      c.out += event.data;
      if (c.stream_chunked) c.out += "\r\n";
      c.response_bytes += event.data.size();
      break;
    }
    case Kind::kStreamEnd:
      if (c.state != ConnState::kStreaming) return;
      if (c.stream_chunked) {
        prepare_output(c);
        c.out += "0\r\n\r\n";
      }
      complete_response(c);
      break;
    case Kind::kAbandon:
      close_connection(c);  // logged as 499
      return;
    case Kind::kStreamAbort:
      if (c.state != ConnState::kStreaming) return;
      // Without the last chunk (or with a close-delimited body cut short) the client can tell
      // the body is incomplete.
      c.keep_alive = false;
      complete_response(c);
      break;
  }
  service(c, c.read_paused || c.ssl != nullptr, true);
}

void Loop::prepare_output(Connection& c) {
  if (c.unsent() == 0) {
    c.out.clear();
    c.out_pos = 0;
    c.last_write = now_;
  }
}

const std::string& Loop::date() {
  std::time_t now = std::time(nullptr);
  if (now != date_second_) {
    date_second_ = now;
    std::tm utc{};
    gmtime_r(&now, &utc);
    char buffer[64];
    std::size_t n = std::strftime(buffer, sizeof(buffer), "%a, %d %b %Y %H:%M:%S GMT", &utc);
    date_.assign(buffer, n);
  }
  return date_;
}

void Loop::append_head(Connection& c, int status, const HttpHeaders& headers, std::optional<std::uint64_t> length,
                       bool chunked) {
  prepare_output(c);
  std::string& out = c.out;
  std::string_view reason = server_reason_phrase(status);
  out += fmt::format("HTTP/1.1 {} {}\r\nDate: {}\r\n", status, reason.empty() ? "Unknown" : reason, date());
  if (!shared_.options.server_header.empty()) out += "Server: " + shared_.options.server_header + "\r\n";
  for (const auto& [name, value] : headers) {
    if (is_managed_header(name)) continue;
    if (!is_http_token(name) || !is_safe_header_value(value)) {
      log::warn("http server: dropped a response header with an invalid name or value ({})",
                is_http_token(name) ? name : "?");
      continue;
    }
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (length) out += fmt::format("Content-Length: {}\r\n", *length);
  if (chunked) out += "Transfer-Encoding: chunked\r\n";
  if (!c.keep_alive) {
    out += "Connection: close\r\n";
  } else if (c.head.version_minor == 0) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
}

void Loop::queue_response(Connection& c, ServerResponse response) {
  bool head_request = c.have_head && c.head.method == "HEAD";
  int status = response.status;
  if (status < 200 || status > 999) {
    log::warn("http server: a handler answered with status {}; sending 500", status);
    response = ServerResponse::error(500, "invalid status from the request handler");
    status = 500;
  }
  bool handler_close = false;
  for (const auto& value : response.headers.get_all("connection")) {
    handler_close = handler_close || header_lists_token(value, "close");
  }
  c.keep_alive = c.have_head && c.head.keep_alive && !handler_close && !c.peer_closed &&
                 !shared_.draining.load(std::memory_order_relaxed);
  bool bodyless = status == 204 || status == 304;
  std::optional<std::uint64_t> length;
  if (!bodyless) {
    length = response.body.size();
    // A HEAD handler may state the size of the body it did not produce.
    if (head_request && response.body.empty()) {
      if (auto stated = response.headers.get("content-length")) {
        if (auto parsed = parse_u64(*stated)) length = *parsed;
      }
    }
  }
  append_head(c, status, response.headers, length, false);
  c.response_status = status;
  c.response_bytes = 0;
  if (!head_request && !bodyless) {
    c.out += response.body;
    c.response_bytes = response.body.size();
  }
  complete_response(c);
}

void Loop::start_stream(Connection& c, ServerResponse head) {
  bool head_request = c.head.method == "HEAD";
  int status = head.status;
  if (status < 200 || status > 999 || status == 204 || status == 304) {
    log::warn("http server: a handler streamed with status {}; sending 500", status);
    c.flow->close();
    queue_response(c, ServerResponse::error(500, "invalid status from the request handler"));
    return;
  }
  c.stream_chunked = c.head.version_minor >= 1;
  // HTTP/1.0 has no chunks: the end of the body is the end of the connection.
  c.keep_alive = c.stream_chunked && c.head.keep_alive && !c.peer_closed &&
                 !shared_.draining.load(std::memory_order_relaxed);
  append_head(c, status, head.headers, std::nullopt, c.stream_chunked);
  c.response_status = status;
  c.response_bytes = 0;
  if (head_request) {
    complete_response(c);
    return;
  }
  c.state = ConnState::kStreaming;
}

void Loop::reject(Connection& c, int status, std::string_view message, bool close, HttpHeaders extra) {
  ServerResponse response = shared_.options.error_response ? shared_.options.error_response(status, message)
                                                           : ServerResponse::error(status, message);
  response.status = status;
  for (const auto& [name, value] : extra) response.headers.set(name, value);
  if (close) {
    // The request (or its body) was not read to its end: more of it may be on the way.
    c.expect_more_input = true;
    if (!c.have_head) c.head = RequestHead{};
    c.head.keep_alive = false;
  }
  queue_response(c, std::move(response));
}

void Loop::log_access(const Connection& c, int status, std::uint64_t bytes) {
  if (!shared_.options.access_log) return;
  AccessLogEntry entry;
  entry.method = c.have_head ? std::string_view(c.head.method) : std::string_view("-");
  entry.path = c.have_head ? std::string_view(c.head.path) : std::string_view("-");
  entry.status = status;
  entry.body_bytes = bytes;
  entry.duration = std::chrono::duration_cast<std::chrono::microseconds>(now_ - c.request_start);
  entry.remote_address = c.remote;
  try {
    shared_.options.access_log(entry);
  } catch (...) {
    // A logging failure must not take the connection down.
  }
}

void Loop::complete_response(Connection& c) {
  log_access(c, c.response_status, c.response_bytes);
  shared_.counters.served.fetch_add(1, std::memory_order_relaxed);
  if (c.exchange_active) {
    c.exchange_active = false;
    shared_.counters.in_flight.fetch_sub(1, std::memory_order_relaxed);
  }
  if (c.flow) c.flow->close();
  c.flow.reset();
  c.cancel.reset();
  c.chunked.reset();
  c.body.clear();
  c.route = nullptr;
  bool keep = c.keep_alive;
  c.head = RequestHead{};
  c.have_head = false;
  if (!keep) {
    c.state = ConnState::kClosing;
    return;
  }
  c.state = ConnState::kHead;
  c.idle_since = c.request_start = now_;
}

bool Loop::flush(Connection& c) {
  while (c.out_pos < c.out.size()) {
    IoResult result = write_some(c, c.out.data() + c.out_pos, c.out.size() - c.out_pos);
    if (result.status == Io::kOk) {
      c.out_pos += result.bytes;
      c.last_write = now_;
      continue;
    }
    if (result.status == Io::kWouldBlock) break;
    close_connection(c);
    return false;
  }
  if (c.out_pos == c.out.size()) {
    c.out.clear();
    c.out_pos = 0;
  } else if (c.out_pos >= (1 << 20)) {
    c.out.erase(0, c.out_pos);
    c.out_pos = 0;
  }
  if (c.flow && c.state == ConnState::kStreaming) {
    {
      std::lock_guard<std::mutex> lock(c.flow->mutex);
      c.flow->buffered = c.unsent();
    }
    c.flow->changed.notify_all();
  }
  return true;
}

void Loop::begin_linger(Connection& c) {
  if (c.ssl) {
    ERR_clear_error();
    SSL_shutdown(c.ssl);  // close_notify, best effort
    ERR_clear_error();
  }
  ::shutdown(c.fd, SHUT_WR);
  // Lingering is only worth it when the client may still be sending (a body that was refused,
  // bytes already here): then closing at once would reset the connection and could destroy the
  // answer before the client reads it. Otherwise the FIN is enough.
  int pending = 0;
  bool more_coming = c.expect_more_input || c.unread() > 0 || (ioctl(c.fd, FIONREAD, &pending) == 0 && pending > 0);
  if (c.peer_closed || !more_coming) {
    close_connection(c);
    return;
  }
  c.state = ConnState::kLinger;
  c.linger_start = now_;
  c.in.clear();
  c.in_pos = 0;
}

void Loop::close_connection(Connection& c) {
  if (c.closed) return;
  c.closed = true;
  if (c.exchange_active) {
    // The client left before its answer was complete (logged as 499, as nginx does).
    c.exchange_active = false;
    shared_.counters.in_flight.fetch_sub(1, std::memory_order_relaxed);
    log_access(c, 499, c.response_bytes);
  }
  if (c.cancel) {
    auto cancel = std::move(c.cancel);
    cancel->fire();
  }
  if (c.flow) c.flow->close();
  c.flow.reset();
  if (c.ssl) {
    SSL_free(c.ssl);
    c.ssl = nullptr;
  }
  // Counted down before the close, so a client that sees the connection end also sees the count.
  if (c.counted) shared_.counters.open.fetch_sub(1, std::memory_order_acq_rel);
  shared_.counters.live.fetch_sub(1, std::memory_order_acq_rel);
  ::close(c.fd);
  c.fd = -1;
  dead_.push_back(c.id);
}

void Loop::update_interest(Connection& c) {
  std::uint32_t want = 0;
  bool reading = c.state == ConnState::kHandshake || c.state == ConnState::kLinger || c.unread() < read_cap(c);
  if (c.peer_closed) reading = false;
  if (reading || (c.ssl && c.tls_write_wants_read)) want |= EPOLLIN;
  if (!c.peer_closed) want |= EPOLLRDHUP;
  if (c.unsent() > 0 || (c.ssl && c.tls_read_wants_write)) want |= EPOLLOUT;
  if (want == c.interest) return;
  epoll_event event{};
  event.events = want;
  event.data.u64 = c.id;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &event) != 0) {
    close_connection(c);
    return;
  }
  c.interest = want;
}

void Loop::sweep() {
  last_sweep_ = now_;
  const HttpServerOptions& options = shared_.options;
  for (auto& [id, connection] : connections_) {
    Connection& c = *connection;
    if (c.closed) continue;
    if (c.unsent() > 0 && now_ - c.last_write >= options.write_timeout) {
      close_connection(c);  // the client stopped reading
      continue;
    }
    switch (c.state) {
      case ConnState::kHandshake:
        if (now_ - c.opened >= options.header_timeout) close_connection(c);
        break;
      case ConnState::kHead:
        if (c.unread() == 0) {
          if (c.unsent() == 0 && now_ - c.idle_since >= options.idle_timeout) close_connection(c);
        } else if (now_ - c.request_start >= options.header_timeout) {
          // A client trickling a request (slowloris): tell it, best effort, and close.
          reject(c, 408, "timed out waiting for the request header section", true);
          flush(c);
          close_connection(c);
        }
        break;
      case ConnState::kBody:
        if (now_ - c.body_start >= options.body_timeout) {
          reject(c, 408, "timed out waiting for the request body", true);
          flush(c);
          close_connection(c);
        }
        break;
      case ConnState::kLinger:
        if (now_ - c.linger_start >= options.linger_timeout) close_connection(c);
        break;
      case ConnState::kHandling:
      case ConnState::kStreaming:
      case ConnState::kClosing:
        break;
    }
  }
}

// The listening socket for `host`:`port`; `port` is updated to the bound port.
Result<int> open_listener(const HttpServerOptions& options, int& port) {
  std::string host = options.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (options.port < 0 || options.port > 65535) {
    return invalid_argument(fmt::format("port {} is out of range (0-65535)", options.port));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string service = std::to_string(options.port);
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0) {
    return invalid_argument(fmt::format("cannot listen on '{}': {} (give an IP address or a local host name)",
                                        options.host, gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owner(found, &freeaddrinfo);
  std::string last_error = "no usable address";
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ai->ai_family == AF_INET6) {
      int zero = 0;  // "::" takes IPv4 connections too
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    }
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, options.listen_backlog) != 0) {
      last_error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t length = sizeof(bound);
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
    port = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6&>(bound).sin6_port)
                                       : ntohs(reinterpret_cast<sockaddr_in&>(bound).sin_port);
    return fd;
  }
  return Error(ErrorCode::kUnavailable,
               fmt::format("cannot listen on {}:{}: {} (is another process using the port? choose another with --port)",
                           options.host, options.port, last_error));
}

}  // namespace

std::string default_server_header() { return fmt::format("airlock/{}", kVersion); }

std::string format_access_log(const AccessLogEntry& entry) {
  double ms = static_cast<double>(entry.duration.count()) / 1000.0;
  return redact(fmt::format("{} \"{} {}\" {} {}B {:.2f}ms", entry.remote_address, entry.method, entry.path,
                            entry.status, entry.body_bytes, ms));
}

struct HttpServer::Impl {
  Shared shared;
  std::vector<std::unique_ptr<Loop>> loops;
  int port = 0;
  std::string url;
  std::mutex lifecycle;
  bool accepting_stopped = false;
  bool shut_down = false;
  bool drained = true;

  ~Impl() {
    if (shared.listen_fd >= 0) ::close(shared.listen_fd);
  }

  bool on_loop_thread() const {
    return std::any_of(loops.begin(), loops.end(), [](const auto& loop) { return loop->on_loop_thread(); });
  }

  void stop_accepting_locked() {
    if (accepting_stopped) return;
    accepting_stopped = true;
    shared.draining.store(true);
    std::vector<std::future<void>> done;
    for (auto& loop : loops) {
      auto promise = std::make_shared<std::promise<void>>();
      std::future<void> future = promise->get_future();
      Loop* raw = loop.get();
      if (loop->post([raw, promise] {
            raw->stop_listening();
            promise->set_value();
          })) {
        done.push_back(std::move(future));
      }
    }
    for (auto& future : done) future.wait();
    if (shared.listen_fd >= 0) {
      ::close(shared.listen_fd);
      shared.listen_fd = -1;
    }
  }

  bool shutdown(std::chrono::milliseconds deadline) {
    std::lock_guard<std::mutex> lock(lifecycle);
    if (shut_down) return drained;
    stop_accepting_locked();
    auto until = Clock::now() + deadline;
    while (shared.counters.live.load() > 0 && Clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    drained = shared.counters.live.load() == 0;
    for (auto& loop : loops) {
      Loop* raw = loop.get();
      if (!loop->post([raw] { raw->request_stop(); })) raw->request_stop();
    }
    for (auto& loop : loops) loop->join();
    // Handlers still running are waited for; queued ones see their cancel flag and return.
    shared.pool.reset();
    shut_down = true;
    return drained;
  }
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  if (impl_ && impl_->on_loop_thread()) {
    log::error("http server: destroyed from its own event-loop thread; leaking it to avoid a deadlock");
    impl_.release();
    return;
  }
  if (impl_) impl_->shutdown(std::chrono::milliseconds(0));
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(HttpServerOptions options, Router router) {
  if (options.max_connections == 0) return invalid_argument("max_connections must be at least 1");
  if (options.event_loops < 1) return invalid_argument("event_loops must be at least 1");
  auto impl = std::make_unique<Impl>();
  Shared& shared = impl->shared;
  if (options.tls) {
    AIRLOCK_ASSIGN_OR_RETURN(shared.tls, TlsServerContext::create(*options.tls));
  }
  AIRLOCK_ASSIGN_OR_RETURN(shared.listen_fd, open_listener(options, impl->port));
  std::string host = options.host;
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  bool literal6 = host.find(':') != std::string::npos;
  impl->url = fmt::format("{}://{}:{}", shared.tls ? "https" : "http", literal6 ? "[" + host + "]" : host, impl->port);

  std::size_t workers = options.worker_threads;
  if (workers == 0) workers = std::max<std::size_t>(4, std::thread::hardware_concurrency());
  shared.options = std::move(options);
  shared.router = std::move(router);
  shared.pool = std::make_unique<ThreadPool>(workers);
  for (int i = 0; i < shared.options.event_loops; ++i) {
    auto loop = std::make_unique<Loop>(shared);
    AIRLOCK_TRY(loop->init());
    impl->loops.push_back(std::move(loop));
  }
  for (auto& loop : impl->loops) loop->start();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

int HttpServer::port() const { return impl_->port; }

std::string HttpServer::url() const { return impl_->url; }

HttpServerStats HttpServer::stats() const {
  const Counters& counters = impl_->shared.counters;
  HttpServerStats stats;
  stats.open_connections = counters.open.load(std::memory_order_relaxed);
  stats.accepted_connections = counters.accepted.load(std::memory_order_relaxed);
  stats.rejected_connections = counters.rejected.load(std::memory_order_relaxed);
  stats.requests_in_flight = counters.in_flight.load(std::memory_order_relaxed);
  stats.requests_served = counters.served.load(std::memory_order_relaxed);
  return stats;
}

void HttpServer::stop_accepting() {
  if (impl_->on_loop_thread()) {
    log::error("http server: stop_accepting() called from an event-loop thread; ignored");
    return;
  }
  std::lock_guard<std::mutex> lock(impl_->lifecycle);
  impl_->stop_accepting_locked();
}

bool HttpServer::shutdown(std::chrono::milliseconds deadline) {
  if (impl_->on_loop_thread()) {
    log::error("http server: shutdown() called from an event-loop thread; ignored");
    return false;
  }
  return impl_->shutdown(deadline);
}

// TerminationSignal: a self-pipe written by the signal handler (write(2) is async-signal-safe).
namespace {
int g_signal_pipe[2] = {-1, -1};
struct sigaction g_previous_term {};
struct sigaction g_previous_int {};

extern "C" void on_termination_signal(int signal_number) {
  int saved = errno;
  unsigned char byte = static_cast<unsigned char>(signal_number);
  [[maybe_unused]] ssize_t written = ::write(g_signal_pipe[1], &byte, 1);
  errno = saved;
}
}  // namespace

TerminationSignal::TerminationSignal() {
  if (g_signal_pipe[0] >= 0) {
    log::error("TerminationSignal: only one instance may exist at a time");
    std::abort();
  }
  if (pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    log::error("TerminationSignal: pipe2 failed: {}", std::strerror(errno));
    std::abort();
  }
  struct sigaction action {};
  action.sa_handler = on_termination_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, &g_previous_term);
  sigaction(SIGINT, &action, &g_previous_int);
}

TerminationSignal::~TerminationSignal() {
  sigaction(SIGTERM, &g_previous_term, nullptr);
  sigaction(SIGINT, &g_previous_int, nullptr);
  ::close(g_signal_pipe[0]);
  ::close(g_signal_pipe[1]);
  g_signal_pipe[0] = g_signal_pipe[1] = -1;
}

int TerminationSignal::wait() {
  while (true) {
    if (auto signal_number = wait_for(std::chrono::hours(24))) return *signal_number;
  }
}

std::optional<int> TerminationSignal::wait_for(std::chrono::milliseconds timeout) {
  auto until = Clock::now() + timeout;
  while (true) {
    unsigned char byte = 0;
    if (::read(g_signal_pipe[0], &byte, 1) == 1) return static_cast<int>(byte);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd readable{g_signal_pipe[0], POLLIN, 0};
    poll(&readable, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1'000'000)));
  }
}

}  // namespace airlock::net
