#include "manager/kubernetes_manifests.h"

#include <fmt/format.h>

#include "core/base64.h"
#include "profiles/gpu_table.h"

namespace airlock::manager {
namespace {

constexpr std::string_view kCacheMount = "/model-store";
constexpr std::string_view kKServeMount = "/mnt/models";
constexpr std::string_view kKeyMount = "/etc/airlock/api-key";

Json labels_for(const AiModel& model) {
  return {{"app.kubernetes.io/name", model.kubernetes_name()},
          {"app.kubernetes.io/component", "model"},
          {"app.kubernetes.io/managed-by", "airlock-manager"},
          {"airlock.dev/model-id", model.id}};
}

Json metadata(const std::string& name, const AiModel& model, const KubernetesOptions& options) {
  return {{"name", name}, {"namespace", options.namespace_name}, {"labels", labels_for(model)}};
}

Json store_env_from(const KubernetesOptions& options) {
  Json list = Json::array();
  if (!options.store_secret.empty()) {
    list.push_back({{"secretRef", {{"name", options.store_secret}, {"optional", true}}}});
  }
  return list;
}

Json container_security_context(bool read_only_root) {
  Json context = {{"allowPrivilegeEscalation", false},
                  {"runAsNonRoot", true},
                  {"capabilities", {{"drop", Json::array({"ALL"})}}}};
  if (read_only_root) context["readOnlyRootFilesystem"] = true;
  return context;
}

Json pod_security_context(const KubernetesOptions& options) {
  // fsGroup makes the cache volume group-writable for the runtime's user: an emptyDir or a PVC
  // owned by root would otherwise fail with "Permission denied" on the first write.
  return {{"runAsNonRoot", true},
          {"runAsUser", options.run_as_user},
          {"runAsGroup", options.run_as_user},
          {"fsGroup", options.fs_group},
          {"fsGroupChangePolicy", "OnRootMismatch"},
          {"seccompProfile", {{"type", "RuntimeDefault"}}}};
}

Json resources(const AiModel& model) {
  Json requests = {{"cpu", model.compute.cpu}, {"memory", model.compute.memory}};
  Json limits = {{"memory", model.compute.memory}};
  if (model.compute.gpu_count > 0) {
    requests["nvidia.com/gpu"] = std::to_string(model.compute.gpu_count);
    limits["nvidia.com/gpu"] = std::to_string(model.compute.gpu_count);
  }
  return {{"requests", requests}, {"limits", limits}};
}

void add_gpu_scheduling(Json& pod_spec, const AiModel& model) {
  if (model.compute.gpu_count <= 0) return;
  Json selector = {{"nvidia.com/gpu", "true"}};
  if (!model.compute.gpu_type.empty()) {
    if (const profiles::GpuModel* gpu = profiles::find_gpu_by_name(model.compute.gpu_type)) {
      selector["nvidia.com/gpu.product"] = std::string(gpu->product_label);
    }
  }
  pod_spec["nodeSelector"] = selector;
  pod_spec["tolerations"] =
      Json::array({{{"key", "nvidia.com/gpu"}, {"operator", "Exists"}, {"effect", "NoSchedule"}}});
}

Json pull_secrets(const KubernetesOptions& options) {
  Json list = Json::array();
  for (const std::string& name : options.image_pull_secrets) list.push_back({{"name", name}});
  return list;
}

Json probe(std::string_view path, int initial_delay, int period, int failures) {
  return {{"httpGet", {{"path", std::string(path)}, {"port", "http"}}},
          {"initialDelaySeconds", initial_delay},
          {"periodSeconds", period},
          {"timeoutSeconds", 5},
          {"failureThreshold", failures}};
}

// The model container: airlock's runtime is told everything on its command line; a NIM image
// gets NIM's variables and reads the cache that the init container (or KServe's storage
// initializer) pulled.
Json model_container(const AiModel& model, const KubernetesOptions& options, std::string_view cache_dir, bool pulls_itself,
                     std::string_view container_name) {
  Json container = {{"name", std::string(container_name)}, {"image", model.image_url}};
  const bool airlock = model.runtime() == ModelRuntime::kAirlock;
  if (airlock) {
    Json args = Json::array({"serve"});
    if (pulls_itself) {
      args.push_back("--model-profiles-path");
      args.push_back(model.model_profiles_path);
    }
    for (const std::string& a : {std::string("--cache-dir"), std::string(cache_dir), std::string("--host"),
                                 std::string("0.0.0.0"), std::string("--port"), std::to_string(kModelPort),
                                 std::string("--served-model-name"), model.name, std::string("--api-key-file"),
                                 std::string(kKeyMount) + "/key"}) {
      args.push_back(a);
    }
    if (!model.profile.empty()) {
      args.push_back("--profile");
      args.push_back(model.profile);
    }
    container["args"] = args;
    if (pulls_itself) container["envFrom"] = store_env_from(options);
  } else {
    Json env = Json::array({{{"name", "NIM_CACHE_PATH"}, {"value", std::string(cache_dir)}},
                            {{"name", "NIM_SERVED_MODEL_NAME"}, {"value", model.name}},
                            {{"name", "NIM_HTTP_API_PORT"}, {"value", std::to_string(kModelPort)}},
                            {{"name", "NIM_SERVER_PORT"}, {"value", std::to_string(kModelPort)}},
                            {{"name", "HF_HUB_OFFLINE"}, {"value", "1"}},
                            {{"name", "NIM_DISABLE_MODEL_DOWNLOAD"}, {"value", "1"}}});
    if (!model.profile.empty()) env.push_back({{"name", "NIM_MODEL_PROFILE"}, {"value", model.profile}});
    container["env"] = env;
  }
  container["ports"] = Json::array({{{"name", "http"}, {"containerPort", kModelPort}, {"protocol", "TCP"}}});
  container["resources"] = resources(model);
  // NIM-style timings (readiness 15/10/3, startup up to 30 minutes for large pulls and engines).
  container["startupProbe"] = probe("/v1/health/ready", airlock ? 5 : 30, 10, 180);
  container["readinessProbe"] = probe("/v1/health/ready", airlock ? 5 : 15, 10, 3);
  container["livenessProbe"] = probe("/v1/health/live", airlock ? 5 : 15, 10, 3);
  container["securityContext"] = container_security_context(airlock);
  Json mounts = Json::array({{{"name", "dshm"}, {"mountPath", "/dev/shm"}}});
  if (cache_dir == kCacheMount) mounts.push_back({{"name", "model-store"}, {"mountPath", std::string(kCacheMount)}});
  if (airlock) {
    mounts.push_back({{"name", "api-key"}, {"mountPath", std::string(kKeyMount)}, {"readOnly", true}});
    mounts.push_back({{"name", "tmp"}, {"mountPath", "/tmp"}});
  }
  container["volumeMounts"] = mounts;
  return container;
}

Json common_volumes(const AiModel& model, const KubernetesOptions& options, bool with_cache) {
  Json volumes = Json::array();
  if (with_cache) {
    if (!options.cache_pvc.empty()) {
      volumes.push_back({{"name", "model-store"}, {"persistentVolumeClaim", {{"claimName", options.cache_pvc}}}});
    } else {
      Json empty_dir = Json::object();
      if (!options.cache_size_limit.empty()) empty_dir["sizeLimit"] = options.cache_size_limit;
      volumes.push_back({{"name", "model-store"}, {"emptyDir", empty_dir}});
    }
  }
  volumes.push_back(
      {{"name", "dshm"}, {"emptyDir", {{"medium", "Memory"}, {"sizeLimit", model.compute.gpu_count > 0 ? "16Gi" : "1Gi"}}}});
  if (model.runtime() == ModelRuntime::kAirlock) {
    volumes.push_back({{"name", "api-key"},
                       {"secret", {{"secretName", model.kubernetes_name() + "-api-key"}, {"defaultMode", 0440}}}});
    volumes.push_back({{"name", "tmp"}, {"emptyDir", Json::object()}});
  }
  return volumes;
}

Json api_key_secret(const AiModel& model, const std::string& upstream_key, const KubernetesOptions& options) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", metadata(model.kubernetes_name() + "-api-key", model, options)},
          {"type", "Opaque"},
          {"data", {{"key", base64_encode(upstream_key + "\n")}}}};
}

std::vector<Json> deployment_objects(const AiModel& model, const std::string& upstream_key, const KubernetesOptions& options) {
  const std::string name = model.kubernetes_name();
  const bool airlock = model.runtime() == ModelRuntime::kAirlock;
  Json pod_spec = {{"securityContext", pod_security_context(options)}};
  if (!options.service_account.empty()) pod_spec["serviceAccountName"] = options.service_account;
  if (!options.image_pull_secrets.empty()) pod_spec["imagePullSecrets"] = pull_secrets(options);
  add_gpu_scheduling(pod_spec, model);
  if (!airlock) {
    // NIM images cannot read a store: `airlock pull` fills the cache volume before they start.
    pod_spec["initContainers"] = Json::array(
        {{{"name", "pull-model-cache"},
          {"image", options.runtime_image},
          {"args", Json::array({"pull", model.model_profiles_path, std::string(kCacheMount)})},
          {"envFrom", store_env_from(options)},
          {"resources", {{"requests", {{"cpu", "500m"}, {"memory", "512Mi"}}}, {"limits", {{"memory", "2Gi"}}}}},
          {"securityContext", container_security_context(true)},
          {"volumeMounts", Json::array({{{"name", "model-store"}, {"mountPath", std::string(kCacheMount)}},
                                        {{"name", "tmp"}, {"mountPath", "/tmp"}}})}}});
  }
  pod_spec["containers"] = Json::array({model_container(model, options, kCacheMount, airlock, "model")});
  Json volumes = common_volumes(model, options, true);
  if (!airlock) volumes.push_back({{"name", "tmp"}, {"emptyDir", Json::object()}});
  pod_spec["volumes"] = volumes;
  // A replica's cache lives in its pod: shut down gracefully so in-flight requests finish.
  pod_spec["terminationGracePeriodSeconds"] = 45;

  Json deployment = {
      {"apiVersion", "apps/v1"},
      {"kind", "Deployment"},
      {"metadata", metadata(name, model, options)},
      {"spec",
       {{"replicas", model.replicas},
        {"selector", {{"matchLabels", {{"airlock.dev/model-id", model.id}}}}},
        {"strategy", {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxUnavailable", 0}, {"maxSurge", 1}}}}},
        {"template",
         {{"metadata", {{"labels", labels_for(model)},
                        {"annotations", {{"airlock.dev/generation", std::to_string(model.generation)}}}}},
          {"spec", pod_spec}}}}}};
  Json service = {{"apiVersion", "v1"},
                  {"kind", "Service"},
                  {"metadata", metadata(name, model, options)},
                  {"spec",
                   {{"type", "ClusterIP"},
                    {"selector", {{"airlock.dev/model-id", model.id}}},
                    {"ports", Json::array({{{"name", "http"},
                                            {"port", kModelPort},
                                            {"targetPort", "http"},
                                            {"protocol", "TCP"}}})}}}};
  std::vector<Json> objects;
  if (airlock) objects.push_back(api_key_secret(model, upstream_key, options));
  objects.push_back(deployment);
  objects.push_back(service);
  return objects;
}

std::vector<Json> kserve_objects(const AiModel& model, const std::string& upstream_key, const KubernetesOptions& options) {
  const std::string name = model.kubernetes_name();
  const std::string format = "airlock-" + name;
  const bool airlock = model.runtime() == ModelRuntime::kAirlock;
  Json container = model_container(model, options, kKServeMount, false, "kserve-container");
  Json runtime_spec = {{"supportedModelFormats", Json::array({{{"name", format}, {"version", "1"}, {"autoSelect", true},
                                                               {"priority", 1}}})},
                       {"containers", Json::array({container})},
                       {"volumes", common_volumes(model, options, false)}};
  if (!options.image_pull_secrets.empty()) runtime_spec["imagePullSecrets"] = pull_secrets(options);
  Json runtime = {{"apiVersion", "serving.kserve.io/v1alpha1"},
                  {"kind", "ServingRuntime"},
                  {"metadata", metadata(name + "-runtime", model, options)},
                  {"spec", runtime_spec}};

  Json predictor = {{"minReplicas", model.replicas},
                    {"maxReplicas", std::max(model.replicas, 1)},
                    {"securityContext", pod_security_context(options)},
                    {"model",
                     {{"modelFormat", {{"name", format}, {"version", "1"}}},
                      {"runtime", name + "-runtime"},
                      {"storageUri", model.model_profiles_path},
                      {"resources", resources(model)}}}};
  if (!options.service_account.empty()) predictor["serviceAccountName"] = options.service_account;
  if (!options.image_pull_secrets.empty()) predictor["imagePullSecrets"] = pull_secrets(options);
  add_gpu_scheduling(predictor, model);
  Json isvc_metadata = metadata(name, model, options);
  isvc_metadata["annotations"] = {
      {"serving.kserve.io/deploymentMode", "RawDeployment"},
      // The runtime writes into the cache (locks, engines built locally): the mount must be writable.
      {"storage.kserve.io/readonly", "false"},
      {"serving.kserve.io/enable-prometheus-scraping", "true"},
      {"prometheus.kserve.io/port", std::to_string(kModelPort)},
      {"prometheus.kserve.io/path", "/v1/metrics"},
      {"airlock.dev/generation", std::to_string(model.generation)}};
  Json isvc = {{"apiVersion", "serving.kserve.io/v1beta1"},
               {"kind", "InferenceService"},
               {"metadata", isvc_metadata},
               {"spec", {{"predictor", predictor}}}};
  std::vector<Json> objects;
  if (airlock) objects.push_back(api_key_secret(model, upstream_key, options));
  objects.push_back(runtime);
  objects.push_back(isvc);
  return objects;
}

}  // namespace

std::vector<Json> render_model_objects(const AiModel& model, const std::string& upstream_key,
                                       const KubernetesOptions& options) {
  return options.mode == "kserve" ? kserve_objects(model, upstream_key, options)
                                  : deployment_objects(model, upstream_key, options);
}

Json render_cluster_storage_container(const KubernetesOptions& options) {
  // KServe runs the matching container as the init container "storage-initializer" with the
  // arguments `<storageUri> /mnt/models`: exactly `airlock pull URI DEST_DIR`.
  Json container = {
      {"name", "storage-initializer"},
      {"image", options.runtime_image},
      {"command", Json::array({"airlock", "pull"})},
      {"envFrom", store_env_from(options)},
      {"resources", {{"requests", {{"cpu", "500m"}, {"memory", "512Mi"}}}, {"limits", {{"cpu", "2"}, {"memory", "2Gi"}}}}},
      {"securityContext", container_security_context(true)}};
  Json formats = Json::array({{{"prefix", "s3://"}},
                              {{"prefix", "gs://"}},
                              {{"prefix", "hdfs://"}},
                              {{"prefix", "webhdfs://"}},
                              {{"regex", R"(https://(.+?)\.blob\.core\.windows\.net/(.+))"}},
                              {{"regex", R"(https://(.+?)\.z[0-9]{1,2}\.blob\.storage\.azure\.net/(.+))"}},
                              {{"prefix", "https://"}}});
  return {{"apiVersion", "serving.kserve.io/v1alpha1"},
          {"kind", "ClusterStorageContainer"},
          {"metadata", {{"name", std::string(kStorageContainerName)},
                        {"labels", {{"app.kubernetes.io/managed-by", "airlock-manager"}}}}},
          {"spec", {{"container", container}, {"supportedUriFormats", formats}, {"workloadType", "initContainer"}}}};
}

Json render_namespace(const KubernetesOptions& options) {
  return {{"apiVersion", "v1"},
          {"kind", "Namespace"},
          {"metadata", {{"name", options.namespace_name}, {"labels", {{"app.kubernetes.io/managed-by", "airlock-manager"}}}}}};
}

std::string in_cluster_url(const AiModel& model, const KubernetesOptions& options) {
  if (options.mode == "kserve") {
    // RawDeployment: the predictor's Service listens on port 80.
    return fmt::format("http://{}-predictor.{}.svc.cluster.local", model.kubernetes_name(), options.namespace_name);
  }
  return fmt::format("http://{}.{}.svc.cluster.local:{}", model.kubernetes_name(), options.namespace_name, kModelPort);
}

std::pair<std::string, std::string> status_object(const AiModel& model, const KubernetesOptions& options) {
  return {options.mode == "kserve" ? "inferenceservice" : "deployment", model.kubernetes_name()};
}

}  // namespace airlock::manager
