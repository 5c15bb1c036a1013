// `airlock quickstart`: the whole air-gap story in one command, on embedded defaults:
//   1. a small demo model (random weights, real BERT architecture and tokenizer) laid out like a
//      Hugging Face hub repository, or a real model's files listed from the Hub (--model hf://...);
//   2. its airlock manifest; 3. list-model-profiles; 4. download-to-cache; 5. push to a local
//   file:// store; 6. serve from that store (a child `airlock serve`, which has no hub client);
//   7. the operators' smoke request, printing the vector length; then stop.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "cli/cache_options.h"
#include "cli/command.h"
#include "cli/smoke.h"
#include "cli/store_options.h"
#include "core/file_io.h"
#include "core/hash.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/redact.h"
#include "core/strings.h"
#include "core/units.h"
#include "engine/demo_model.h"
#include "fetch/download_to_cache.h"
#include "fetch/hf_client.h"
#include "net/http_client.h"
#include "profiles/listing.h"
#include "profiles/manifest.h"
#include "profiles/selection.h"
#include "server/model_startup.h"
#include "store/store_factory.h"
#include "sync/push.h"

extern char** environ;

namespace airlock::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct QuickstartFlags {
  std::string model = "demo";
  std::string workdir;
  bool keep = false;
  bool no_serve = false;
  int port = 0;
  std::string demo_size = "tiny";
  double ready_timeout_s = 600;
};

struct ModelFile {
  std::string path;  // in the workspace
  std::string uri;   // where download-to-cache reads it
  std::optional<std::string> sha256;
  std::optional<std::uint64_t> size;
};

struct ModelSource {
  std::string name;  // "airlock/demo-embedding", "BAAI/bge-small-en-v1.5"
  std::string kind;  // "embedding" or "reranker"
  std::vector<ModelFile> files;
  std::string where;  // the directory (demo) or the Hub URI
};

void step(int n, std::string_view text) { print(fmt::format("\n[{}/7] {}\n", n, text)); }

std::string yaml_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += "''";
    else out.push_back(c);
  }
  return out + "'";
}

// The files of a directory as a Hugging Face hub repository: blobs named by sha256, one
// snapshot of relative symlinks, refs/main holding the commit (no trailing newline).
Result<std::vector<ModelFile>> lay_out_as_hub(const fs::path& staging, const fs::path& repo_dir) {
  std::vector<std::pair<std::string, fs::path>> files;
  for (const auto& entry : fs::recursive_directory_iterator(staging)) {
    if (entry.is_regular_file()) files.emplace_back(fs::relative(entry.path(), staging).generic_string(), entry.path());
  }
  std::sort(files.begin(), files.end());
  std::string listing;
  std::vector<ModelFile> out;
  for (const auto& [rel, path] : files) {
    AIRLOCK_ASSIGN_OR_RETURN(std::string sha, sha256_file_hex(path));
    listing += rel + " " + sha + "\n";
    ModelFile f;
    f.path = rel;
    f.sha256 = sha;
    f.size = fs::file_size(path);
    out.push_back(std::move(f));
  }
  const std::string commit = sha1_hex("commit airlock demo\n" + listing);
  const fs::path snapshot = repo_dir / "snapshots" / commit;
  AIRLOCK_TRY(make_directories(repo_dir / "blobs"));
  AIRLOCK_TRY(make_directories(repo_dir / "refs"));
  for (std::size_t i = 0; i < files.size(); ++i) {
    const fs::path blob = repo_dir / "blobs" / *out[i].sha256;
    std::error_code ec;
    if (!fs::exists(blob, ec)) {
      fs::rename(files[i].second, blob, ec);
      if (ec) return io_error(fmt::format("cannot move {} to {}: {}", files[i].second.string(), blob.string(), ec.message()));
    }
    const fs::path link = snapshot / out[i].path;
    AIRLOCK_TRY(make_directories(link.parent_path()));
    fs::remove(link, ec);
    const std::string from_dir = fs::path("snapshots/" + commit + "/" + out[i].path).parent_path().generic_string();
    fs::create_symlink(relative_link_target(from_dir, "blobs/" + *out[i].sha256), link, ec);
    if (ec) return io_error(fmt::format("cannot create the symlink {}: {}", link.string(), ec.message()));
    out[i].uri = "file://" + fs::absolute(link).string();
  }
  AIRLOCK_TRY(write_file_atomic(repo_dir / "refs" / "main", commit));
  return out;
}

Result<ModelSource> make_demo_model(const fs::path& workdir, bool reranker, const std::string& size) {
  engine::DemoModelOptions options;
  options.kind = reranker ? engine::DemoModelKind::kReranker : engine::DemoModelKind::kEmbedding;
  if (size == "mini") {
    // all-MiniLM-L6-v2's shape: enough compute for load tests to mean something.
    options.layers = 6;
    options.hidden = 384;
    options.heads = 12;
    options.intermediate = 1536;
  } else if (size != "tiny") {
    return invalid_argument(fmt::format("--demo-size must be tiny or mini (got \"{}\")", size));
  }
  ModelSource source;
  source.name = reranker ? "airlock/demo-reranker" : "airlock/demo-embedding";
  source.kind = reranker ? "reranker" : "embedding";
  const fs::path staging = workdir / ".demo-staging";
  std::error_code ec;
  fs::remove_all(staging, ec);
  AIRLOCK_ASSIGN_OR_RETURN(engine::DemoModelSummary summary, engine::write_demo_model(staging, options));
  const fs::path repo = workdir / "hub" / (reranker ? "models--airlock--demo-reranker" : "models--airlock--demo-embedding");
  AIRLOCK_ASSIGN_OR_RETURN(source.files, lay_out_as_hub(staging, repo));
  fs::remove_all(staging, ec);
  source.where = repo.string();
  print(fmt::format("  {}: {} files, {} parameters, {} (vocabulary of {} wordpieces)\n  in {}\n  NOTE: {}\n", source.name,
                    summary.files.size(), summary.parameters, format_bytes(summary.bytes), summary.vocab_size, repo.string(),
                    engine::kDemoModelNotice));
  return source;
}

// The files airlock's engine reads, from a Hugging Face repository's listing.
bool engine_file(std::string_view path) {
  static constexpr std::string_view kNames[] = {"config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                                "vocab.txt", "model.safetensors", "model.safetensors.index.json", "modules.json",
                                                "sentence_bert_config.json", "config_sentence_transformers.json"};
  for (std::string_view name : kNames) {
    if (path == name) return true;
  }
  if (path.starts_with("model-") && path.ends_with(".safetensors")) return true;  // shards
  if (path.starts_with("1_Pooling/") && path.ends_with(".json")) return true;
  if (path.starts_with("2_Dense") && (path.ends_with("/config.json") || path.ends_with("/model.safetensors"))) return true;
  return false;
}

Result<ModelSource> list_hf_model(const std::string& uri) {
  std::string rest = uri.substr(std::string_view("hf://").size());
  std::string revision = "main";
  if (auto colon = rest.find(':'); colon != std::string::npos) {
    revision = rest.substr(colon + 1);
    rest.resize(colon);
  }
  if (rest.empty() || std::count(rest.begin(), rest.end(), '/') > 1 || rest.find('?') != std::string::npos) {
    return invalid_argument(fmt::format("--model {}: expected hf://<org>/<name>[:<revision>]", uri));
  }
  AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<net::HttpClient> http, net::HttpClient::create());
  fetch::HfClient hub(*http, fetch::HfSettings::from_environment());
  AIRLOCK_ASSIGN_OR_RETURN(fetch::HfRevisionInfo info, hub.revision_info(rest, revision));
  ModelSource source;
  source.name = rest;
  source.where = uri;
  bool weights = false;
  for (const fetch::HfFile& file : info.siblings) {
    if (!engine_file(file.path)) continue;
    ModelFile f;
    f.path = file.path;
    f.uri = fmt::format("hf://{}:{}?file={}", rest, info.sha, file.path);
    f.sha256 = file.lfs_sha256;
    f.size = file.size;
    weights = weights || file.path.ends_with(".safetensors");
    source.files.push_back(std::move(f));
  }
  if (!weights) {
    return Error(ErrorCode::kUnsupported,
                 fmt::format("{} has no safetensors weights at {}: airlock's engine reads model.safetensors (Hugging Face "
                             "encoder checkpoints: BERT, XLM-R, ...)",
                             rest, info.sha));
  }
  source.kind = to_lower(rest).find("rerank") != std::string::npos ? "reranker" : "embedding";
  print(fmt::format("  {} at commit {}: {} of its {} files are what the engine reads\n", rest, info.sha, source.files.size(),
                    info.siblings.size()));
  return source;
}

// airlock's manifest: a CPU fp32 profile and a GPU fp16 one over the same files.
std::string manifest_yaml(const ModelSource& source) {
  std::string files;
  for (const ModelFile& f : source.files) {
    files += fmt::format("        {}: {{uri: {}", yaml_quote(f.path), yaml_quote(f.uri));
    if (f.sha256) files += fmt::format(", sha256: '{}'", *f.sha256);
    if (f.size) files += fmt::format(", size: {}", *f.size);
    files += "}\n";
  }
  std::string out = fmt::format(
      "# Written by `airlock quickstart`: airlock's own manifest form (the NIM v2 shape with any source URI).\n"
      "schema_version: airlock/1\nmodel:\n  name: {}\n  kind: {}\nprofiles:\n",
      yaml_quote(source.name), source.kind);
  out += "  - tags: {engine: 'airlock', device: 'cpu', precision: 'fp32'}\n    workspace:\n      files:\n" + files;
  out += "  - tags: {engine: 'airlock', device: 'gpu', precision: 'fp16', tp: '1'}\n    workspace:\n      files:\n" + files;
  return out;
}

int free_local_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::string random_key() {
  std::random_device device;
  std::vector<std::uint8_t> bytes(16);
  for (std::uint8_t& b : bytes) b = static_cast<std::uint8_t>(device() & 0xff);
  return "airlock-" + to_hex(bytes);
}

// `airlock serve` as a child process whose output is shown with a prefix; stopped with SIGTERM
// (and reaped) when this object goes, whatever happened in between.
class ServeChild {
 public:
  ~ServeChild() { stop(std::chrono::seconds(30)); }

  Status start(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env_overrides,
               const std::vector<std::string>& env_removed) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return errno_error("pipe", errno);
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string_view entry(*e);
      std::string name(entry.substr(0, entry.find('=')));
      if (env_overrides.count(name) || std::find(env_removed.begin(), env_removed.end(), name) != env_removed.end()) continue;
      env.emplace_back(entry);
    }
    for (const auto& [k, v] : env_overrides) env.push_back(k + "=" + v);
    std::vector<char*> cargv, cenv;
    for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    for (const std::string& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    const int rc = ::posix_spawn(&pid_, argv[0].c_str(), &actions, nullptr, cargv.data(), cenv.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
      ::close(fds[0]);
      pid_ = -1;
      return errno_error(fmt::format("starting {}", argv[0]), rc);
    }
    reader_ = std::thread([this, fd = fds[0]] {
      std::string pending;
      char buffer[4096];
      while (true) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        pending.append(buffer, static_cast<std::size_t>(n));
        for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) show(pending.substr(0, nl));
      }
      if (!pending.empty()) show(pending);
      ::close(fd);
    });
    return ok_status();
  }

  // The exit status once the child is gone (128 + signal when killed); nullopt while it runs.
  std::optional<int> exited() {
    if (pid_ < 0) return status_;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) record(status);
    return status_;
  }

  // SIGTERM, then SIGKILL after `grace`; returns the exit status.
  std::optional<int> stop(std::chrono::seconds grace) {
    if (pid_ >= 0) {
      ::kill(pid_, SIGTERM);
      const auto deadline = Clock::now() + grace;
      while (pid_ >= 0 && Clock::now() < deadline) {
        if (!exited()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (pid_ >= 0) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        record(status);
      }
    }
    if (reader_.joinable()) reader_.join();
    return status_;
  }

  std::string tail() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string out;
    for (const std::string& line : last_lines_) out += "  " + line + "\n";
    return out;
  }

 private:
  void record(int status) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
  }
  void show(const std::string& line) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      last_lines_.push_back(line);
      if (last_lines_.size() > 20) last_lines_.erase(last_lines_.begin());
    }
    std::string out = "  serve | " + redact(line) + "\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
  }

  pid_t pid_ = -1;
  std::optional<int> status_;
  std::thread reader_;
  std::mutex mutex_;
  std::vector<std::string> last_lines_;
};

Status wait_until_ready(ServeChild& child, const std::string& url, std::chrono::milliseconds timeout) {
  net::HttpClientOptions options;
  options.max_retries = 0;
  options.connect_timeout = std::chrono::milliseconds(2000);
  options.total_timeout = std::chrono::milliseconds(5000);
  AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<net::HttpClient> client, net::HttpClient::create(options));
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (auto status = child.exited()) {
      return Error(ErrorCode::kUnavailable, fmt::format("airlock serve exited with status {} before it was ready; its last "
                                                        "lines:\n{}",
                                                        *status, child.tail()));
    }
    auto response = client->send(net::HttpRequest::get(url + "/v1/health/ready"));
    if (response.ok() && response->status == 200) return ok_status();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return Error(ErrorCode::kTimeout, fmt::format("airlock serve was not ready after {:.0f}s", std::chrono::duration<double>(timeout).count()));
}

std::string self_binary() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("airlock") : self.string();
}

Status run_quickstart(const QuickstartFlags& flags, const GlobalOptions& global) {
  const auto started = Clock::now();
  // The work directory: kept when named or with --keep, else removed at the end.
  fs::path workdir;
  std::unique_ptr<server::ScopedDirectory> cleanup;
  if (!flags.workdir.empty()) {
    workdir = fs::absolute(flags.workdir);
    AIRLOCK_TRY(make_directories(workdir));
  } else {
    std::string pattern = (fs::temp_directory_path() / "airlock-quickstart-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) return errno_error("creating a work directory", errno);
    workdir = pattern;
    if (!flags.keep) cleanup = std::make_unique<server::ScopedDirectory>(workdir);
  }
  const bool demo = flags.model == "demo" || flags.model == "demo-reranker";
  if (!demo && !flags.model.starts_with("hf://")) {
    return invalid_argument(fmt::format("--model must be demo, demo-reranker or hf://<org>/<name>[:<revision>] (got \"{}\")", flags.model));
  }
  print(fmt::format("airlock quickstart: the air-gap workflow end to end, in {}\n", workdir.string()));

  // 1. The model.
  ModelSource source;
  if (demo) {
    step(1, "Creating the demo model, laid out like a Hugging Face hub repository");
    AIRLOCK_ASSIGN_OR_RETURN(source, make_demo_model(workdir, flags.model == "demo-reranker", flags.demo_size));
  } else {
    step(1, fmt::format("Listing {} on the Hugging Face Hub (this step and step 4 need the network)", flags.model));
    AIRLOCK_ASSIGN_OR_RETURN(source, list_hf_model(flags.model));
  }

  // 2. Its manifest.
  step(2, "Writing the model's airlock manifest");
  const fs::path manifest_path = workdir / "model_manifest.yaml";
  AIRLOCK_TRY(write_file_atomic(manifest_path, manifest_yaml(source)));
  AIRLOCK_ASSIGN_OR_RETURN(profiles::Manifest manifest, profiles::load_manifest_file(manifest_path));
  print(fmt::format("  {} ({} profiles, {} files each)\n", manifest_path.string(), manifest.profiles.size(), source.files.size()));

  // 3. The profiles for this machine, as serve will see it.
  step(3, fmt::format("airlock list-model-profiles -m {}", manifest_path.string()));
  const profiles::Hardware hardware = server::runnable_hardware(profiles::detect_hardware());
  const profiles::Selection selection = profiles::select_profiles(manifest, hardware);
  print(profiles::render_listing(hardware, selection));
  const profiles::Assessment* chosen = selection.chosen_assessment();
  if (chosen == nullptr) return not_found("no profile of the quickstart manifest runs on this machine");
  print(fmt::format("  Selected profile: {} ({})\n", chosen->profile->id, chosen->description));

  // 4. Into a cache.
  const fs::path cache_dir = workdir / "cache";
  step(4, fmt::format("airlock download-to-cache -m {} --profiles {} --cache-dir {}", manifest_path.string(),
                      chosen->profile->id.substr(0, 12) + "...", cache_dir.string()));
  fetch::DownloadOptions download;
  download.cache_root = cache_dir;
  download.local_base = workdir;
  download.manifests = {manifest_path.string()};
  download.jobs = 4;
  download.progress = progress_options(global);
  download.ngc = fetch::NgcSettings::from_environment();
  download.hf = fetch::HfSettings::from_environment();
  AIRLOCK_ASSIGN_OR_RETURN(fetch::DownloadSummary downloaded,
                           fetch::download_profiles(manifest, {fetch::SelectedProfile{chosen->profile, chosen->description}}, download));
  print(fetch::render_summary(downloaded));
  if (!downloaded.errors.empty()) return downloaded.errors.front().with_context("download-to-cache");

  // 5. Into a store.
  const fs::path store_dir = workdir / "store";
  const std::string store_uri = "file://" + store_dir.string();
  step(5, fmt::format("airlock push {} {}", cache_dir.string(), store_uri));
  AIRLOCK_TRY(make_directories(store_dir));
  AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, store::open_store(store_uri, {}));
  sync::PushOptions push;
  push.progress = progress_options(global);
  AIRLOCK_ASSIGN_OR_RETURN(sync::PushSummary pushed, sync::push(cache_dir, *store, push));
  print(pushed.to_text());

  const fs::path runtime_cache = workdir / "runtime-cache";
  const int port = flags.port != 0 ? flags.port : free_local_port();
  if (port == 0) return io_error("no free local port for airlock serve");
  const std::string url = fmt::format("http://127.0.0.1:{}", port);
  std::vector<std::string> serve_argv = {self_binary(), "--log-level", global.quiet ? "warn" : global.log_level, "serve",
                                         "--model-profiles-path", store_uri, "--cache-dir", runtime_cache.string(),
                                         "--host", "127.0.0.1", "--port", std::to_string(port)};
  if (flags.no_serve) {
    print(fmt::format("\nThe store is ready (--no-serve). Serve it offline with:\n  AIRLOCK_API_KEYS=<key> airlock serve "
                      "--model-profiles-path {} --cache-dir {} --port {}\n",
                      store_uri, runtime_cache.string(), port));
    return ok_status();
  }

  // 6. Serve from the store. The child has no model-hub client and no hub credentials.
  step(6, fmt::format("airlock serve --model-profiles-path {} --cache-dir {} --port {}  (offline: reads only the store)",
                      store_uri, runtime_cache.string(), port));
  const std::string api_key = random_key();
  register_secret(api_key);
  ServeChild child;
  AIRLOCK_TRY(child.start(serve_argv, {{"AIRLOCK_API_KEYS", api_key}},
                          {"NGC_API_KEY", "NGC_CLI_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT",
                           "AIRLOCK_MODEL_PROFILES_PATH", "NIM_MODEL_PROFILE", "NIM_SERVED_MODEL_NAME", "NIM_HTTP_API_PORT",
                           "NIM_SERVER_PORT", "NIM_CACHE_PATH", "AIRLOCK_CACHE", "AIRLOCK_API_KEY"}));
  AIRLOCK_TRY(wait_until_ready(child, url, std::chrono::milliseconds(static_cast<std::int64_t>(flags.ready_timeout_s * 1000))));

  // 7. The smoke test.
  step(7, "Smoke test: the request operators send");
  print(fmt::format("  curl -sS -X POST \"{}/v1/embeddings\" -H \"Authorization: Bearer $API_KEY\" -H \"Content-Type: "
                    "application/json\" -d '{{\"input\":[\"hello from the air gap\"]}}' | jq '.data[0].embedding | length'\n",
                    url));
  SmokeOptions smoke;
  smoke.url = url;
  smoke.api_key = api_key;
  auto result = run_smoke(smoke);
  auto status = child.stop(std::chrono::seconds(60));
  if (!result.ok()) return result.error().with_context("smoke test");
  if (result->kind == "embedding") {
    print(fmt::format("\nVector length: {}  (model {}, {} prompt tokens, {:.1f} ms)\n", result->vector_length, result->model,
                      result->prompt_tokens, result->milliseconds));
  } else {
    print(fmt::format("\nRanked {} passages  (model {}, a reranker, {:.1f} ms)\n", result->rankings, result->model,
                      result->milliseconds));
  }
  if (!status || *status != 0) {
    return internal_error(fmt::format("airlock serve did not stop cleanly on SIGTERM (exit status {})", status.value_or(-1)));
  }
  print(fmt::format("airlock serve stopped cleanly on SIGTERM. Done in {:.1f}s{}.\n",
                    std::chrono::duration<double>(Clock::now() - started).count(),
                    cleanup ? "; the work directory was removed (--keep keeps it)" : fmt::format("; everything is in {}", workdir.string())));
  return ok_status();
}

}  // namespace

void add_quickstart_command(CLI::App& app, CommandContext context) {
  auto flags = std::make_shared<QuickstartFlags>();
  CLI::App* command = app.add_subcommand(
      "quickstart", "The whole air-gap workflow in one command: demo model, manifest, profiles, download-to-cache, push, "
                    "serve offline, smoke test");
  command->add_option("--model", flags->model,
                      "demo (a random-weight embedding model made here, no network), demo-reranker, or hf://<org>/<name>[:<rev>] "
                      "(a real model; needs the network for steps 1 and 4)")
      ->capture_default_str();
  command->add_option("--workdir", flags->workdir, "Where to put the model, manifest, caches and store (kept)");
  command->add_flag("--keep", flags->keep, "Keep the temporary work directory");
  command->add_flag("--no-serve", flags->no_serve, "Stop after the push and print the serve command");
  command->add_option("--port", flags->port, "Port for airlock serve (default: a free one)");
  command->add_option("--demo-size", flags->demo_size, "tiny (2 layers, 128 wide) or mini (all-MiniLM-L6-v2's shape)")
      ->capture_default_str();
  command->add_option("--ready-timeout", flags->ready_timeout_s, "Seconds to wait for serve to be ready")->capture_default_str();
  command->callback([flags, context] {
    context.action = [flags, &global = context.global] { return run_quickstart(*flags, global); };
  });
}

AIRLOCK_REGISTER_COMMAND(1, add_quickstart_command);

}  // namespace airlock::cli
