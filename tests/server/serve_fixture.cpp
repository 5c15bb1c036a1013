#include "serve_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <stdexcept>
#include <thread>

#include "net/http_client.h"

namespace airlock::testing {
namespace fs = std::filesystem;

namespace {

DemoStore make_store(const std::string& model) {
  static std::vector<std::unique_ptr<TempDir>> keep;
  keep.push_back(std::make_unique<TempDir>());
  DemoStore store;
  store.workdir = keep.back()->path();
  CommandResult r = run_command({airlock_binary().string(), "--quiet", "quickstart", "--model", model, "--workdir",
                                 store.workdir.string(), "--no-serve"});
  if (r.exit_code != 0) throw std::runtime_error("airlock quickstart --no-serve failed:\n" + r.out + r.err);
  store.uri = "file://" + (store.workdir / "store").string();
  store.model_dir = store.workdir / "hub" / (model == "demo" ? "models--airlock--demo-embedding" : "models--airlock--demo-reranker");
  return store;
}

net::HttpClient& client() {
  static std::unique_ptr<net::HttpClient> c = [] {
    net::HttpClientOptions options;
    options.max_retries = 0;
    options.connect_timeout = std::chrono::milliseconds(5000);
    options.total_timeout = std::chrono::milliseconds(60000);
    options.max_transfers = 512;
    options.max_transfers_per_host = 512;
    auto created = net::HttpClient::create(options);
    if (!created.ok()) throw std::runtime_error(created.error().message());
    return std::move(*created);
  }();
  return *c;
}

}  // namespace

const DemoStore& embedding_store() {
  static DemoStore store = make_store("demo");
  return store;
}

const DemoStore& reranker_store() {
  static DemoStore store = make_store("demo-reranker");
  return store;
}

Json Reply::json() const {
  auto parsed = parse_json(body, "reply");
  return parsed.ok() ? *parsed : Json();
}

Reply http(const std::string& method, const std::string& url, const std::string& body,
           const std::map<std::string, std::string>& headers) {
  net::HttpRequest request;
  request.method = method;
  request.url = url;
  if (!body.empty() || method == "POST") {
    request.body = body;
    request.headers.set("Content-Type", "application/json");
  }
  for (const auto& [k, v] : headers) request.headers.set(k, v);
  request.options.idempotent = true;
  Reply reply;
  auto response = client().send(std::move(request));
  if (!response.ok()) return reply;
  reply.status = response->status;
  reply.body = response->body;
  for (const char* name : {"content-type", "www-authenticate", "retry-after", "connection"}) {
    if (auto v = response->headers.get(name)) reply.headers[name] = *v;
  }
  return reply;
}

int connect_local(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

std::string raw_exchange(int port, const std::string& bytes, std::chrono::milliseconds wait) {
  int fd = connect_local(port);
  if (fd < 0) return "";
  send_all(fd, bytes);
  ::shutdown(fd, SHUT_WR);
  std::string out;
  char buffer[65536];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) break;
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

Serve::~Serve() {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

bool Serve::start(const std::vector<std::string>& args, const std::map<std::string, std::string>& env, bool wait_ready,
                  std::chrono::seconds timeout, const std::vector<std::string>& prefix) {
  port_ = free_port();
  std::vector<std::string> argv = prefix;
  for (const std::string& a : {airlock_binary().string(), std::string("serve"), std::string("--host"), std::string("127.0.0.1"),
                               std::string("--port"), std::to_string(port_)}) {
    argv.push_back(a);
  }
  argv.insert(argv.end(), args.begin(), args.end());
  std::map<std::string, std::string> full_env = env;
  // Small ASan quarantine: the hostile-flood test measures resident memory.
  full_env.emplace("ASAN_OPTIONS", "quarantine_size_mb=8:detect_leaks=1");
  full_env.emplace("AIRLOCK_LOG_LEVEL", "info");  // the tests read serve's per-file lines
  pid_ = spawn_background(argv, dir_.path() / "serve.log", full_env);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string probe = url() + (wait_ready ? "/v1/health/ready" : "/v1/health/live");
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) return false;
    if (http("GET", probe).status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

bool Serve::running() {
  if (pid_ <= 0 || exit_code_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

std::optional<int> Serve::wait_exit(std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return exit_code_;
}

int Serve::terminate(std::chrono::seconds grace) {
  if (running()) ::kill(pid_, SIGTERM);
  if (auto code = wait_exit(grace)) return *code;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  exit_code_ = 128 + SIGKILL;
  return *exit_code_;
}

std::string Serve::log() const { return read_text(dir_.path() / "serve.log"); }

long Serve::rss_kb() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

std::vector<float> engine_embedding(const fs::path& model_dir, const std::string& text, const std::vector<std::string>& extra_args) {
  std::vector<std::string> argv = {airlock_binary().string(), "embed", "--model", model_dir.string(), "--json"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  argv.push_back(text);
  CommandResult r = run_command(argv);
  if (r.exit_code != 0) throw std::runtime_error("airlock embed failed: " + r.err);
  auto json = parse_json(r.out, "airlock embed");
  if (!json.ok()) throw std::runtime_error(json.error().message());
  return (*json)["data"][0]["embedding"].get<std::vector<float>>();
}

}  // namespace airlock::testing
