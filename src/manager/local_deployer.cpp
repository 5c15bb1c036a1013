#include "manager/local_deployer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "core/file_io.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/units.h"
#include "manager/check_path.h"
#include "manager/child_process.h"
#include "net/http_client.h"

namespace airlock::manager {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

Result<int> pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_error("socket", errno);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    const int err = errno;
    ::close(fd);
    return errno_error("finding a free port", err);
  }
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return static_cast<int>(ntohs(address.sin_port));
}

std::string seconds_text(milliseconds delay) { return format_duration(std::chrono::duration<double>(delay)); }

struct Instance {
  int replica = 0;
  pid_t pid = -1;
  std::uint64_t start_ticks = 0;
  int port = 0;
  bool own_child = false;
  bool ready = false;
  bool ever_ready = false;
  int probe_failures = 0;  // consecutive, once it was ready
  int failures = 0;        // consecutive exits without becoming ready
  std::string last_exit;   // "exit code 3: <log tail>"
  Clock::time_point started{};
  Clock::time_point next_start{};
  Clock::time_point next_probe{};
};

struct ManagedModel {
  AiModel model;
  std::string upstream_key;
  std::string config_hash;
  std::vector<Instance> instances;
  bool loaded = false;  // records from the database were looked at
  std::string unsupported;  // why this deployer cannot run it ("" when it can)
  CacheState cache;
  std::int64_t cache_generation = 0;  // generation whose cache state is known
  std::size_t next_upstream = 0;
};

struct ToStop {
  std::string model_id;
  Instance instance;
};

struct Probe {
  std::string model_id;
  int replica;
  pid_t pid;
  int port;
};

class LocalDeployer final : public Deployer {
 public:
  LocalDeployer(LocalDeployerOptions options, Database& db, StatusSink sink, std::shared_ptr<net::HttpClient> client)
      : options_(std::move(options)), db_(db), sink_(std::move(sink)), client_(std::move(client)) {
    thread_ = std::thread([this] { loop(); });
  }

  ~LocalDeployer() override { shutdown(false); }

  std::string_view name() const override { return "local"; }

  Status apply(const AiModel& model, const std::string& upstream_key) override {
    std::vector<ToStop> stops;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ManagedModel& managed = models_[model.id];
      managed.model = model;
      managed.upstream_key = upstream_key;
      managed.unsupported.clear();
      if (model.runtime() != ModelRuntime::kAirlock) {
        managed.unsupported = fmt::format(
            "the local deployer runs only airlock's own runtime (an airlock image); {} is a NIM image: deploy it with "
            "`airlock manager --deployer kubernetes`",
            model.image_url);
      }
      const std::string hash = config_hash(model, upstream_key);
      if (!managed.loaded) {
        managed.loaded = true;
        load_records(managed, hash, stops);
      }
      if (hash != managed.config_hash) {
        for (Instance& instance : managed.instances) {
          if (instance.pid > 0) stops.push_back({model.id, instance});
        }
        managed.instances.clear();
        managed.config_hash = hash;
        managed.cache = CacheState{};
        managed.cache_generation = 0;
      }
      const std::size_t wanted =
          managed.unsupported.empty() && model.deployable() ? static_cast<std::size_t>(model.replicas) : 0;
      while (managed.instances.size() > wanted) {
        if (managed.instances.back().pid > 0) stops.push_back({model.id, managed.instances.back()});
        managed.instances.pop_back();
      }
      while (managed.instances.size() < wanted) {
        Instance instance;
        instance.replica = static_cast<int>(managed.instances.size());
        instance.next_start = Clock::now();
        managed.instances.push_back(instance);
      }
    }
    stop_all(stops);
    wake_.notify_all();
    report_now();
    return ok_status();
  }

  Status remove(const std::string& model_id) override {
    std::vector<ToStop> stops;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = models_.find(model_id);
      if (it != models_.end()) {
        for (Instance& instance : it->second.instances) {
          if (instance.pid > 0) stops.push_back({model_id, instance});
        }
        models_.erase(it);
      }
    }
    // Processes recorded but not (or no longer) managed, e.g. from before a restart.
    auto rows = db_.query("SELECT replica, pid, start_ticks FROM local_instances WHERE model_id = ?", {model_id});
    if (rows.ok()) {
      for (const SqlRow& row : *rows) {
        const bool known = std::any_of(stops.begin(), stops.end(), [&](const ToStop& s) {
          return s.instance.pid == static_cast<pid_t>(row.integer(1));
        });
        if (known) continue;
        Instance instance;
        instance.replica = static_cast<int>(row.integer(0));
        instance.pid = static_cast<pid_t>(row.integer(1));
        instance.start_ticks = static_cast<std::uint64_t>(row.integer(2));
        stops.push_back({model_id, instance});
      }
    }
    stop_all(stops);
    AIRLOCK_TRY(db_.exec("DELETE FROM local_instances WHERE model_id = ?", {model_id}));
    std::error_code ignored;
    std::filesystem::remove_all(model_dir(model_id), ignored);
    return ok_status();
  }

  std::optional<Upstream> upstream(const std::string& model_id) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = models_.find(model_id);
    if (it == models_.end()) return std::nullopt;
    ManagedModel& managed = it->second;
    const std::size_t count = managed.instances.size();
    for (std::size_t i = 0; i < count; ++i) {
      const Instance& instance = managed.instances[(managed.next_upstream + i) % count];
      if (instance.ready && instance.pid > 0) {
        managed.next_upstream = (managed.next_upstream + i + 1) % count;
        return Upstream{fmt::format("http://127.0.0.1:{}", instance.port), managed.upstream_key};
      }
    }
    return std::nullopt;
  }

  void forget_others(const std::vector<std::string>& model_ids) override {
    const std::set<std::string> keep(model_ids.begin(), model_ids.end());
    auto rows = db_.query("SELECT model_id, replica, pid, start_ticks FROM local_instances");
    if (!rows.ok()) return;
    std::vector<ToStop> stops;
    std::set<std::string> gone;
    for (const SqlRow& row : *rows) {
      if (keep.contains(row.text(0))) continue;
      Instance instance;
      instance.replica = static_cast<int>(row.integer(1));
      instance.pid = static_cast<pid_t>(row.integer(2));
      instance.start_ticks = static_cast<std::uint64_t>(row.integer(3));
      stops.push_back({row.text(0), instance});
      gone.insert(row.text(0));
    }
    stop_all(stops);
    for (const std::string& id : gone) (void)db_.exec("DELETE FROM local_instances WHERE model_id = ?", {id});
  }

  void shutdown(bool stop_models) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::vector<ToStop> running;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& [id, managed] : models_) {
        for (Instance& instance : managed.instances) {
          if (instance.pid > 0) running.push_back({id, instance});
        }
      }
    }
    if (stop_models) {
      stop_all(running);
      (void)db_.exec("DELETE FROM local_instances");
    } else if (!running.empty()) {
      std::string pids;
      for (const ToStop& s : running) pids += fmt::format("{}{}", pids.empty() ? "" : ", ", s.instance.pid);
      log::info("leaving {} model process{} running (pid {}): the next `airlock manager` start picks them up "
                "(--stop-models-on-exit stops them instead)",
                running.size(), running.size() == 1 ? "" : "es", pids);
    }
  }

 private:
  std::filesystem::path model_dir(const std::string& id) const { return options_.data_dir / "models" / id; }

  std::vector<std::string> serve_argv(const ManagedModel& managed, int port) const {
    const AiModel& model = managed.model;
    std::vector<std::string> argv = options_.serve_command;
    const std::filesystem::path dir = model_dir(model.id);
    argv.insert(argv.end(), {"--model-profiles-path", model.model_profiles_path, "--cache-dir", (dir / "cache").string(),
                             "--host", "127.0.0.1", "--port", std::to_string(port), "--api-key-file",
                             (dir / "api-key").string(), "--served-model-name", model.name});
    if (!model.profile.empty()) argv.insert(argv.end(), {"--profile", model.profile});
    // How the manager reaches stores, the runtime reaches them too (credentials go by environment).
    const store::StoreConfig& store = options_.store;
    if (!store.s3.endpoint_url.empty()) argv.insert(argv.end(), {"--endpoint-url", store.s3.endpoint_url});
    if (!store.s3.region.empty()) argv.insert(argv.end(), {"--region", store.s3.region});
    if (!store.s3.profile.empty()) argv.insert(argv.end(), {"--aws-profile", store.s3.profile});
    if (!store.s3.addressing.empty()) argv.insert(argv.end(), {"--s3-addressing", store.s3.addressing});
    if (store.s3.no_sign_request) argv.push_back("--no-sign-request");
    if (!store.ca_bundle.empty()) argv.insert(argv.end(), {"--ca-bundle", store.ca_bundle});
    if (store.insecure) argv.push_back("--insecure");
    argv.insert(argv.end(), options_.extra_serve_args.begin(), options_.extra_serve_args.end());
    return argv;
  }

  // Store credentials given to the manager as flags, passed on without putting them in argv.
  std::map<std::string, std::string> serve_env() const {
    std::map<std::string, std::string> env;
    const store::StoreConfig& store = options_.store;
    if (!store.http.user.empty()) env["AIRLOCK_HTTP_USER"] = store.http.user;
    if (!store.http.password.empty()) env["AIRLOCK_HTTP_PASSWORD"] = store.http.password;
    if (!store.http.bearer.empty()) env["AIRLOCK_HTTP_TOKEN"] = store.http.bearer;
    return env;
  }

  // What must stay the same for a running process to be kept: everything on its command line
  // but the port, and the key it accepts.
  std::string config_hash(const AiModel& model, const std::string& upstream_key) const {
    ManagedModel probe;
    probe.model = model;
    std::string text;
    for (const std::string& arg : serve_argv(probe, 0)) text += arg + '\n';
    text += sha256_hex(upstream_key);
    return sha256_hex(text).substr(0, 32);
  }

  // Picks up processes recorded for this model by an earlier manager: kept when still running
  // with the same configuration, stopped otherwise.
  void load_records(ManagedModel& managed, const std::string& hash, std::vector<ToStop>& stops) {
    auto rows = db_.query("SELECT replica, pid, start_ticks, port, config_hash FROM local_instances WHERE model_id = ? "
                          "ORDER BY replica",
                          {managed.model.id});
    if (!rows.ok()) {
      log::warn("reading the recorded processes of model {}: {}", managed.model.name, rows.error().message());
      return;
    }
    for (const SqlRow& row : *rows) {
      Instance instance;
      instance.replica = static_cast<int>(row.integer(0));
      instance.pid = static_cast<pid_t>(row.integer(1));
      instance.start_ticks = static_cast<std::uint64_t>(row.integer(2));
      instance.port = static_cast<int>(row.integer(3));
      const bool alive = process_is(instance.pid, instance.start_ticks);
      const bool same = row.text(4) == hash && managed.unsupported.empty() && managed.model.deployable() &&
                        instance.replica < managed.model.replicas &&
                        instance.replica == static_cast<int>(managed.instances.size());
      if (alive && same) {
        log::info("model {}: picked up replica {} still running from before (pid {}, port {})", managed.model.name,
                  instance.replica, instance.pid, instance.port);
        instance.own_child = false;
        instance.started = Clock::now();
        instance.next_probe = Clock::now();
        managed.instances.push_back(instance);
        managed.config_hash = hash;
      } else {
        (void)db_.exec("DELETE FROM local_instances WHERE model_id = ? AND replica = ?",
                       {managed.model.id, std::int64_t{instance.replica}});
        if (alive) {
          log::info("model {}: stopping replica {} from before (pid {}): its configuration changed",
                    managed.model.name, instance.replica, instance.pid);
          stops.push_back({managed.model.id, instance});
        }
      }
    }
  }

  void stop_all(const std::vector<ToStop>& stops) {
    std::vector<std::thread> threads;
    for (const ToStop& s : stops) {
      threads.emplace_back([this, s] {
        log::info("model {}: stopping replica {} (pid {})", s.model_id, s.instance.replica, s.instance.pid);
        if (!stop_process_group(s.instance.pid, s.instance.start_ticks, options_.stop_grace, s.instance.own_child)) {
          log::warn("model {}: replica {} (pid {}) did not stop within {}; killed", s.model_id, s.instance.replica,
                    s.instance.pid, seconds_text(options_.stop_grace));
        }
        (void)db_.exec("DELETE FROM local_instances WHERE model_id = ? AND replica = ? AND pid = ?",
                       {s.model_id, std::int64_t{s.instance.replica}, std::int64_t{s.instance.pid}});
      });
    }
    for (std::thread& t : threads) t.join();
  }

  milliseconds backoff(int failures) const {
    milliseconds delay = options_.restart_backoff;
    for (int i = 1; i < failures && delay < options_.max_backoff; ++i) delay *= 2;
    return std::min(delay, options_.max_backoff);
  }

  // Under the lock: starts the instance's process.
  void start_instance(ManagedModel& managed, Instance& instance) {
    const AiModel& model = managed.model;
    const std::filesystem::path dir = model_dir(model.id);
    Status prepared = make_directories(dir / "cache");
    if (prepared.ok()) prepared = write_file_atomic(dir / "api-key", managed.upstream_key + "\n");
    ::chmod((dir / "api-key").c_str(), 0600);
    auto port = pick_free_port();
    Result<SpawnedProcess> spawned = !prepared.ok() ? Result<SpawnedProcess>(prepared.error())
                                     : !port.ok()   ? Result<SpawnedProcess>(port.error())
                                                    : spawn_process(SpawnOptions{
                                                          serve_argv(managed, *port), serve_env(),
                                                          dir / fmt::format("serve-{}.log", instance.replica), dir});
    if (!spawned.ok()) {
      ++instance.failures;
      instance.last_exit = redact(spawned.error().message());
      instance.next_start = Clock::now() + backoff(instance.failures);
      log::warn("model {}: cannot start replica {}: {}", model.name, instance.replica, instance.last_exit);
      return;
    }
    instance.pid = spawned->pid;
    instance.start_ticks = spawned->start_ticks;
    instance.port = *port;
    instance.own_child = true;
    instance.ready = false;
    instance.probe_failures = 0;
    instance.started = Clock::now();
    instance.next_probe = Clock::now() + milliseconds(100);
    log::info("model {}: started replica {} (pid {}, port {})", model.name, instance.replica, instance.pid, instance.port);
    (void)db_.exec("INSERT OR REPLACE INTO local_instances (model_id, replica, pid, start_ticks, port, config_hash, "
                   "started_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   {model.id, std::int64_t{instance.replica}, std::int64_t{instance.pid},
                    static_cast<std::int64_t>(instance.start_ticks), std::int64_t{instance.port}, managed.config_hash,
                    now_timestamp()});
  }

  // Under the lock: notices exits, schedules restarts, starts what is due, lists due probes.
  std::vector<Probe> tend(Clock::time_point now) {
    std::vector<Probe> probes;
    for (auto& [id, managed] : models_) {
      for (Instance& instance : managed.instances) {
        if (instance.pid > 0) {
          std::optional<std::string> exit;
          if (instance.own_child) {
            exit = reap_child(instance.pid);
          } else if (!process_is(instance.pid, instance.start_ticks)) {
            exit = std::string("ended");
          }
          if (exit) {
            const std::string tail = log_tail(model_dir(id) / fmt::format("serve-{}.log", instance.replica));
            instance.last_exit = tail.empty() ? *exit : *exit + ": " + tail;
            if (!instance.ready) {
              ++instance.failures;
            } else {
              instance.failures = 1;
            }
            const milliseconds delay = backoff(instance.failures);
            log::warn("model {}: replica {} (pid {}) {}; restarting in {}", managed.model.name, instance.replica,
                      instance.pid, instance.last_exit, seconds_text(delay));
            (void)db_.exec("DELETE FROM local_instances WHERE model_id = ? AND replica = ? AND pid = ?",
                           {id, std::int64_t{instance.replica}, std::int64_t{instance.pid}});
            instance.pid = -1;
            instance.ready = false;
            instance.next_start = now + delay;
          }
        }
        // Replicas after the first wait until it was ready once: the cache is complete by then,
        // so they do not all pull the same files at the same time.
        const bool first_ready = managed.instances.front().ever_ready;
        if (instance.pid <= 0 && now >= instance.next_start && (instance.replica == 0 || first_ready)) {
          start_instance(managed, instance);
        }
        if (instance.pid > 0 && now >= instance.next_probe) {
          probes.push_back({id, instance.replica, instance.pid, instance.port});
          instance.next_probe = now + (instance.ready ? options_.ready_probe_interval : options_.probe_interval);
        }
      }
    }
    return probes;
  }

  std::vector<int> run_probes(const std::vector<Probe>& probes) {
    std::vector<net::HttpRequest> requests;
    for (const Probe& probe : probes) {
      net::HttpRequest request = net::HttpRequest::get(fmt::format("http://127.0.0.1:{}/v1/health/ready", probe.port));
      request.options.max_retries = 0;
      request.options.total_timeout = milliseconds(2000);
      request.options.connect_timeout = milliseconds(1000);
      requests.push_back(std::move(request));
    }
    std::vector<int> statuses;
    for (auto& result : client_->send_all(std::move(requests))) statuses.push_back(result.ok() ? result->status : 0);
    return statuses;
  }

  // Reads what the runtime and the store say about the cache, once per generation.
  void refresh_cache_state(const std::string& model_id) {
    std::string uri, key, profile;
    int port = 0;
    std::int64_t generation = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = models_.find(model_id);
      if (it == models_.end()) return;
      ManagedModel& m = it->second;
      if (m.cache_generation == m.model.generation) return;
      const auto ready = std::find_if(m.instances.begin(), m.instances.end(), [](const Instance& i) { return i.ready; });
      if (ready == m.instances.end()) return;
      uri = m.model.model_profiles_path;
      key = m.upstream_key;
      profile = m.model.profile;
      port = ready->port;
      generation = m.model.generation;
    }
    CacheState cache;
    cache.path = (model_dir(model_id) / "cache").string();
    cache.profile = profile;
    net::HttpRequest request = net::HttpRequest::get(fmt::format("http://127.0.0.1:{}/v1/metadata", port));
    request.headers.set("Authorization", "Bearer " + key);
    request.options.max_retries = 0;
    request.options.total_timeout = milliseconds(3000);
    auto metadata = client_->send(std::move(request));
    if (metadata.ok() && metadata->ok()) {
      auto json = parse_json(metadata->body, "/v1/metadata");
      if (json.ok() && json->is_object()) {
        if (json->contains("selectedModelProfileId") && (*json)["selectedModelProfileId"].is_string()) {
          cache.profile = (*json)["selectedModelProfileId"].get<std::string>();
        }
      }
    }
    auto check = check_model_profiles_path(uri, options_.store);
    if (check.ok() && check->ok) {
      cache.files = check->files;
      cache.bytes = check->bytes;
      // The runtime became ready only after its pull checked every file against the index.
      cache.verified_files = check->files;
      cache.verified_bytes = check->bytes;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = models_.find(model_id);
    if (it == models_.end() || it->second.model.generation != generation) return;
    it->second.cache = cache;
    it->second.cache_generation = generation;
  }

  struct Report {
    std::string id;
    ModelStatus status;
    std::string message;
    CacheState cache;
  };

  // Under the lock.
  Report describe(const std::string& id, const ManagedModel& managed, Clock::time_point now) const {
    const AiModel& model = managed.model;
    Report report{id, ModelStatus::kUnknown, "", managed.cache};
    if (!model.deployable()) {
      report.message = model.model_profiles_path.empty() ? "not deployed: set modelProfilesPath to the store path of its cache"
                                                         : "scaled to zero replicas";
      return report;
    }
    if (!managed.unsupported.empty()) {
      report.status = ModelStatus::kFailed;
      report.message = managed.unsupported;
      return report;
    }
    if (report.cache.path.empty()) report.cache.path = (model_dir(id) / "cache").string();
    const int ready = static_cast<int>(std::count_if(managed.instances.begin(), managed.instances.end(),
                                                     [](const Instance& i) { return i.ready; }));
    const int wanted = static_cast<int>(managed.instances.size());
    if (ready == wanted && wanted > 0) {
      report.status = ModelStatus::kReady;
      report.message = wanted == 1 ? fmt::format("ready (pid {}, port {})", managed.instances[0].pid,
                                                 managed.instances[0].port)
                                   : fmt::format("ready: {}/{} replicas", ready, wanted);
      return report;
    }
    report.status = ModelStatus::kPending;
    for (const Instance& instance : managed.instances) {
      if (instance.ready) continue;
      const std::string prefix = wanted > 1 ? fmt::format("{}/{} replicas ready; replica {} ", ready, wanted, instance.replica)
                                            : std::string();
      const auto wait = std::chrono::duration_cast<milliseconds>(std::max(instance.next_start - now, Clock::duration(0)));
      if (instance.failures >= options_.fail_after && !instance.ever_ready) {
        report.status = ModelStatus::kFailed;
        report.message = fmt::format("{}failed {} times in a row, last: {}; {}", prefix, instance.failures,
                                     instance.last_exit,
                                     instance.pid > 0 ? fmt::format("trying again (pid {})", instance.pid)
                                                      : fmt::format("retrying in {}", seconds_text(wait)));
      } else if (instance.pid > 0) {
        report.message = instance.ever_ready
                             ? fmt::format("{}not answering its readiness probe (pid {})", prefix, instance.pid)
                             : fmt::format("{}starting: pulling the cache and loading the model (pid {}, port {})", prefix,
                                           instance.pid, instance.port);
        if (instance.failures > 0) report.message += fmt::format("; earlier: {}", instance.last_exit);
      } else if (instance.failures > 0) {
        report.message = fmt::format("{}{}; restarting in {} (attempt {})", prefix, instance.last_exit, seconds_text(wait),
                                     instance.failures + 1);
      } else {
        report.message = fmt::format("{}waiting to start", prefix);
      }
      break;
    }
    return report;
  }

  void report_now() {
    std::vector<Report> reports;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const auto now = Clock::now();
      for (const auto& [id, managed] : models_) reports.push_back(describe(id, managed, now));
    }
    for (const Report& r : reports) sink_(r.id, r.status, r.message, r.cache);
  }

  void loop() {
    while (true) {
      std::vector<Probe> probes;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait_for(lock, milliseconds(100));
        if (stopping_) return;
        probes = tend(Clock::now());
      }
      std::vector<std::string> became_ready;
      if (!probes.empty()) {
        const std::vector<int> statuses = run_probes(probes);
        std::lock_guard<std::mutex> lock(mutex_);
        for (std::size_t i = 0; i < probes.size(); ++i) {
          auto it = models_.find(probes[i].model_id);
          if (it == models_.end()) continue;
          for (Instance& instance : it->second.instances) {
            if (instance.replica != probes[i].replica || instance.pid != probes[i].pid) continue;
            if (statuses[i] == 200) {
              if (!instance.ready) {
                log::info("model {}: replica {} is ready (pid {}, port {})", it->second.model.name, instance.replica,
                          instance.pid, instance.port);
              }
              instance.ready = true;
              instance.ever_ready = true;
              instance.failures = 0;
              instance.probe_failures = 0;
              became_ready.push_back(probes[i].model_id);
            } else if (instance.ready && ++instance.probe_failures >= 3) {
              instance.ready = false;
              instance.next_probe = Clock::now() + options_.probe_interval;
            }
          }
        }
      }
      for (const std::string& id : became_ready) refresh_cache_state(id);
      report_now();
    }
  }

  LocalDeployerOptions options_;
  Database& db_;
  StatusSink sink_;
  std::shared_ptr<net::HttpClient> client_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, ManagedModel> models_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

std::vector<std::string> default_serve_command() {
  std::error_code error;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  return {error ? std::string("airlock") : self.string(), "serve"};
}

Result<std::unique_ptr<Deployer>> make_local_deployer(LocalDeployerOptions options, Database& db, StatusSink sink) {
  if (options.serve_command.empty()) options.serve_command = default_serve_command();
  net::HttpClientOptions client_options;
  client_options.max_retries = 0;
  client_options.connect_timeout = milliseconds(1000);
  AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<net::HttpClient> client, net::HttpClient::create(client_options));
  AIRLOCK_TRY(make_directories(options.data_dir / "models"));
  return std::unique_ptr<Deployer>(
      new LocalDeployer(std::move(options), db, std::move(sink), std::shared_ptr<net::HttpClient>(std::move(client))));
}

}  // namespace airlock::manager
