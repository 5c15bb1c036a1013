#include "manager/kubernetes_deployer.h"

#include <sys/stat.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "core/file_io.h"
#include "core/log.h"
#include "core/strings.h"
#include "manager/child_process.h"
#include "manager/yaml_writer.h"

namespace airlock::manager {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kNamespaceFile = "namespace.yaml";
constexpr std::string_view kStorageContainerFile = "cluster-storage-container.yaml";

struct Watched {
  AiModel model;
  std::string upstream_key;
  std::filesystem::path file;
  bool applied = false;
  std::string apply_error;
  Clock::time_point next_poll{};
};

class KubernetesDeployer final : public Deployer {
 public:
  KubernetesDeployer(KubernetesDeployerOptions options, StatusSink sink)
      : options_(std::move(options)), sink_(std::move(sink)) {
    thread_ = std::thread([this] { loop(); });
  }
  ~KubernetesDeployer() override { shutdown(false); }

  std::string_view name() const override { return "kubernetes"; }

  Status prepare() {
    AIRLOCK_TRY(make_directories(options_.manifests_dir));
    ::chmod(options_.manifests_dir.c_str(), 0700);
    AIRLOCK_TRY(write_manifest(options_.manifests_dir / kNamespaceFile, {render_namespace(options_.render)}));
    std::vector<std::filesystem::path> cluster_files = {options_.manifests_dir / kNamespaceFile};
    if (options_.render.mode == "kserve") {
      AIRLOCK_TRY(write_manifest(options_.manifests_dir / kStorageContainerFile,
                                 {render_cluster_storage_container(options_.render)}));
      cluster_files.push_back(options_.manifests_dir / kStorageContainerFile);
    }
    if (!options_.kubeconfig.empty()) {
      for (const auto& file : cluster_files) {
        auto applied = kubectl({"apply", "--server-side", "--field-manager=airlock-manager", "--force-conflicts", "-f",
                                file.string()});
        if (!applied.ok()) return applied.error().with_context(fmt::format("applying {}", file.string()));
      }
    }
    return ok_status();
  }

  Status apply(const AiModel& model, const std::string& upstream_key) override {
    const std::filesystem::path file = options_.manifests_dir / (model.kubernetes_name() + ".yaml");
    if (!model.deployable()) {
      AIRLOCK_TRY(remove(model.id));
      sink_(model.id, ModelStatus::kUnknown,
            model.model_profiles_path.empty() ? "not deployed: set modelProfilesPath to the store path of its cache"
                                              : "scaled to zero replicas",
            CacheState{});
      return ok_status();
    }
    AIRLOCK_TRY(write_manifest(file, render_model_objects(model, upstream_key, options_.render)));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      Watched& watched = models_[model.id];
      watched.model = model;
      watched.upstream_key = upstream_key;
      watched.file = file;
      watched.applied = false;
      watched.next_poll = Clock::now();
    }
    if (options_.kubeconfig.empty()) {
      sink_(model.id, ModelStatus::kUnknown,
            fmt::format("manifests written to {}: apply them with `kubectl apply -f {}` (the manager has no kubeconfig "
                        "to apply or watch them)",
                        file.string(), options_.manifests_dir.string()),
            cache_state(model));
    } else {
      sink_(model.id, ModelStatus::kPending, "applying the manifests", cache_state(model));
      wake_.notify_all();
    }
    return ok_status();
  }

  Status remove(const std::string& model_id) override {
    std::filesystem::path file;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = models_.find(model_id);
      if (it == models_.end()) return ok_status();
      file = it->second.file;
      models_.erase(it);
    }
    if (!options_.kubeconfig.empty() && std::filesystem::exists(file)) {
      auto deleted = kubectl({"delete", "--ignore-not-found", "--wait=false", "-f", file.string()});
      if (!deleted.ok()) return deleted.error().with_context("deleting the model's objects");
    }
    std::error_code ignored;
    std::filesystem::remove(file, ignored);
    return ok_status();
  }

  std::optional<Upstream> upstream(const std::string& model_id) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = models_.find(model_id);
    if (it == models_.end()) return std::nullopt;
    return Upstream{in_cluster_url(it->second.model, options_.render), it->second.upstream_key};
  }

  void forget_others(const std::vector<std::string>& model_ids) override {
    std::set<std::filesystem::path> keep = {options_.manifests_dir / kNamespaceFile,
                                            options_.manifests_dir / kStorageContainerFile};
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (const std::string& id : model_ids) {
        auto it = models_.find(id);
        if (it != models_.end()) keep.insert(it->second.file);
      }
    }
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(options_.manifests_dir, error)) {
      if (entry.path().extension() != ".yaml" || keep.contains(entry.path())) continue;
      log::info("removing {}: its model is gone", entry.path().string());
      if (!options_.kubeconfig.empty()) {
        (void)kubectl({"delete", "--ignore-not-found", "--wait=false", "-f", entry.path().string()});
      }
      std::filesystem::remove(entry.path(), error);
    }
  }

  void shutdown(bool stop_models) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (stop_models && !options_.kubeconfig.empty()) {
      std::vector<std::string> ids;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        for (const auto& [id, w] : models_) ids.push_back(id);
      }
      for (const std::string& id : ids) (void)remove(id);
    }
  }

 private:
  CacheState cache_state(const AiModel& model) const {
    CacheState cache;
    cache.path = options_.render.mode == "kserve" ? "/mnt/models" : "/model-store";
    cache.profile = model.profile;
    return cache;
  }

  Status write_manifest(const std::filesystem::path& file, const std::vector<Json>& objects) {
    std::string text = "# Written by airlock manager; changes here are overwritten.\n" + to_yaml_documents(objects);
    AIRLOCK_TRY(write_file_atomic(file, text));
    ::chmod(file.c_str(), 0600);  // holds the model's upstream key (a Secret)
    return ok_status();
  }

  Result<std::string> kubectl(std::vector<std::string> args) {
    std::vector<std::string> argv = {options_.kubectl};
    // "in-cluster": kubectl's own in-cluster configuration (the pod's service account).
    if (options_.kubeconfig != "in-cluster") argv.insert(argv.end(), {"--kubeconfig", options_.kubeconfig});
    if (!options_.context.empty()) argv.insert(argv.end(), {"--context", options_.context});
    argv.insert(argv.end(), args.begin(), args.end());
    AIRLOCK_ASSIGN_OR_RETURN(CommandOutput output, run_command_capture(argv, options_.kubectl_timeout));
    if (output.timed_out) {
      return Error(ErrorCode::kTimeout, fmt::format("kubectl {} did not finish within {} s", args.front(),
                                                    options_.kubectl_timeout.count() / 1000));
    }
    if (output.exit_code != 0) {
      return Error(ErrorCode::kUnavailable,
                   fmt::format("kubectl {} failed (exit code {}): {}", args.front(), output.exit_code,
                               std::string(trim(output.out)).substr(0, 2000)));
    }
    return output.out;
  }

  struct Observation {
    ModelStatus status = ModelStatus::kPending;
    std::string message;
  };

  static std::string condition_text(const Json& conditions) {
    std::string text;
    if (!conditions.is_array()) return text;
    for (const Json& c : conditions) {
      if (!c.is_object() || c.value("status", "") == "True") continue;
      std::string part = c.value("type", "");
      if (!c.value("reason", "").empty()) part += " (" + c.value("reason", "") + ")";
      if (!c.value("message", "").empty()) part += ": " + c.value("message", "");
      text += (text.empty() ? "" : "; ") + part;
    }
    return text;
  }

  Observation observe(const Watched& watched) {
    const auto [kind, name] = status_object(watched.model, options_.render);
    auto out = kubectl({"get", kind, name, "-n", options_.render.namespace_name, "-o", "json"});
    if (!out.ok()) {
      const bool missing = out.error().message().find("NotFound") != std::string::npos ||
                           out.error().message().find("not found") != std::string::npos;
      return {missing ? ModelStatus::kPending : ModelStatus::kUnknown,
              missing ? fmt::format("{} {} not found in namespace {} yet", kind, name, options_.render.namespace_name)
                      : out.error().message()};
    }
    auto json = parse_json(*out, "kubectl get");
    if (!json.ok() || !json->is_object()) return {ModelStatus::kUnknown, "kubectl printed something that is not JSON"};
    const Json status = json->value("status", Json::object());
    const Json conditions = status.value("conditions", Json::array());
    if (kind == "deployment") {
      const int wanted = json->value("spec", Json::object()).value("replicas", 1);
      const int ready = status.value("readyReplicas", 0);
      for (const Json& c : conditions) {
        if (c.value("type", "") == "Progressing" && c.value("reason", "") == "ProgressDeadlineExceeded") {
          return {ModelStatus::kFailed, fmt::format("{}/{} replicas ready; {}", ready, wanted, c.value("message", ""))};
        }
      }
      if (ready >= wanted) return {ModelStatus::kReady, fmt::format("ready: {}/{} replicas", ready, wanted)};
      std::string message = fmt::format("{}/{} replicas ready", ready, wanted);
      const std::string why = condition_text(conditions);
      if (!why.empty()) message += "; " + why;
      return {ModelStatus::kPending, message};
    }
    for (const Json& c : conditions) {
      if (c.value("type", "") != "Ready") continue;
      if (c.value("status", "") == "True") return {ModelStatus::kReady, "ready (InferenceService Ready)"};
      const std::string reason = c.value("reason", "");
      const bool failed = reason.find("Fail") != std::string::npos || reason.find("Error") != std::string::npos;
      return {failed ? ModelStatus::kFailed : ModelStatus::kPending, "not ready: " + condition_text(conditions)};
    }
    return {ModelStatus::kPending, "waiting for KServe to report the InferenceService"};
  }

  void loop() {
    while (true) {
      std::vector<std::string> due;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait_for(lock, std::chrono::milliseconds(200));
        if (stopping_) return;
        if (options_.kubeconfig.empty()) continue;
        const auto now = Clock::now();
        for (auto& [id, w] : models_) {
          if (now >= w.next_poll) {
            due.push_back(id);
            w.next_poll = now + options_.poll_interval;
          }
        }
      }
      for (const std::string& id : due) {
        Watched watched;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          auto it = models_.find(id);
          if (it == models_.end()) continue;
          watched = it->second;
        }
        if (!watched.applied) {
          auto applied = kubectl({"apply", "--server-side", "--field-manager=airlock-manager", "--force-conflicts", "-f",
                                  watched.file.string()});
          std::lock_guard<std::mutex> lock(mutex_);
          auto it = models_.find(id);
          if (it == models_.end() || it->second.model.generation != watched.model.generation) continue;
          if (!applied.ok()) {
            it->second.apply_error = applied.error().message();
            sink_(id, ModelStatus::kFailed, "applying the manifests failed: " + applied.error().message(),
                  cache_state(watched.model));
            continue;
          }
          it->second.applied = true;
          it->second.apply_error.clear();
        }
        Observation seen = observe(watched);
        CacheState cache = cache_state(watched.model);
        {
          std::lock_guard<std::mutex> lock(mutex_);
          auto it = models_.find(id);
          if (it == models_.end() || it->second.model.generation != watched.model.generation) continue;
          // Poll faster while it is on its way.
          if (seen.status != ModelStatus::kReady) {
            it->second.next_poll = std::min(it->second.next_poll, Clock::now() + std::chrono::seconds(3));
          }
        }
        sink_(id, seen.status, seen.message, cache);
      }
    }
  }

  KubernetesDeployerOptions options_;
  StatusSink sink_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, Watched> models_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<Deployer>> make_kubernetes_deployer(KubernetesDeployerOptions options, StatusSink sink) {
  if (options.render.mode != "deployment" && options.render.mode != "kserve") {
    return invalid_argument(fmt::format("--kubernetes-mode '{}': use deployment or kserve", options.render.mode));
  }
  if (options.manifests_dir.empty()) return invalid_argument("the Kubernetes deployer needs a manifests directory");
  auto deployer = std::make_unique<KubernetesDeployer>(std::move(options), std::move(sink));
  AIRLOCK_TRY(deployer->prepare());
  return std::unique_ptr<Deployer>(std::move(deployer));
}

}  // namespace airlock::manager
