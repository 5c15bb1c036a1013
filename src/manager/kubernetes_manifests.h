// What the Kubernetes deployer applies, rendered as plain JSON objects (written out as YAML):
//   deployment mode: a Secret with the model's upstream key, a Deployment and a Service;
//   kserve mode: the Secret, a ServingRuntime and an InferenceService (RawDeployment) whose
//   storageUri is the model profiles path, fetched by the airlock ClusterStorageContainer.
// Every pod: GPU requests (nvidia.com/gpu) with the toleration for the nvidia.com/gpu taint and
// the nvidia.com/gpu=true node selector, a non-root security context with fsGroup (so the
// cache volume is writable by the runtime's user), startup/readiness/liveness probes on the
// health routes, image pull secrets, and store credentials from a Secret.
#pragma once

#include <string>
#include <vector>

#include "core/json.h"
#include "manager/ai_model.h"

namespace airlock::manager {

struct KubernetesOptions {
  std::string mode = "deployment";  // "deployment" or "kserve"
  std::string namespace_name = "airlock-models";
  std::string runtime_image;  // airlock's image: init containers, the storage initializer
  std::vector<std::string> image_pull_secrets;
  // A Secret in the model namespace with the store's variables (AWS_ACCESS_KEY_ID, ...), given
  // to every container that reads the store. Optional in the pod: a public store needs none.
  std::string store_secret = "airlock-store-credentials";
  std::string cache_pvc;         // a PersistentVolumeClaim for the cache; empty: an emptyDir
  std::string cache_size_limit;  // the emptyDir's sizeLimit ("200Gi"); empty: none
  std::string service_account;   // empty: the namespace's default
  std::int64_t run_as_user = 1000;
  std::int64_t fs_group = 1000;
};

inline constexpr int kModelPort = 8000;
inline constexpr std::string_view kStorageContainerName = "airlock-pull";

// The objects for one model (namespaced), in apply order.
std::vector<Json> render_model_objects(const AiModel& model, const std::string& upstream_key, const KubernetesOptions& options);
// The cluster-scoped ClusterStorageContainer that makes `airlock pull` KServe's storage
// initializer for the six store URI forms.
Json render_cluster_storage_container(const KubernetesOptions& options);
Json render_namespace(const KubernetesOptions& options);
// Where the proxy reaches the model inside the cluster.
std::string in_cluster_url(const AiModel& model, const KubernetesOptions& options);
// The object to watch for status: ("deployment", name) or ("inferenceservice", name).
std::pair<std::string, std::string> status_object(const AiModel& model, const KubernetesOptions& options);

}  // namespace airlock::manager
