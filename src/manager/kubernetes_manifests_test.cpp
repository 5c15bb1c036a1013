#include "manager/kubernetes_manifests.h"

#include <gtest/gtest.h>

#include "core/base64.h"

namespace airlock::manager {
namespace {

AiModel gpu_model(const std::string& image) {
  AiModel model;
  model.id = "m-0123456789abcdef";
  model.name = "nv-embed.v1";
  model.kind = ModelKind::kEmbedding;
  model.image_url = image;
  model.model_profiles_path = "s3://models/nv-embed";
  model.profile = "abc123";
  model.compute = Compute{"L40S", 2, "8", "32Gi"};
  model.replicas = 2;
  return model;
}

const Json* find_kind(const std::vector<Json>& objects, const std::string& kind) {
  for (const Json& object : objects) {
    if (object["kind"] == kind) return &object;
  }
  return nullptr;
}

TEST(KubernetesManifests, DeploymentForAirlocksRuntime) {
  KubernetesOptions options;
  options.runtime_image = "registry.local/airlock:1";
  options.image_pull_secrets = {"regcred"};
  const auto objects = render_model_objects(gpu_model("registry.local/airlock:1"), "aup_secret_value_123", options);
  ASSERT_EQ(objects.size(), 3u);
  const Json* secret = find_kind(objects, "Secret");
  ASSERT_NE(secret, nullptr);
  EXPECT_EQ(base64_decode((*secret)["data"]["key"].get<std::string>()).value(), "aup_secret_value_123\n");
  const Json* deployment = find_kind(objects, "Deployment");
  ASSERT_NE(deployment, nullptr);
  EXPECT_EQ((*deployment)["metadata"]["name"], "nv-embed-v1");
  EXPECT_EQ((*deployment)["metadata"]["namespace"], "airlock-models");
  EXPECT_EQ((*deployment)["spec"]["replicas"], 2);
  const Json& pod = (*deployment)["spec"]["template"]["spec"];
  EXPECT_EQ(pod["securityContext"]["runAsNonRoot"], true);
  EXPECT_EQ(pod["securityContext"]["fsGroup"], 1000);
  EXPECT_EQ(pod["imagePullSecrets"][0]["name"], "regcred");
  EXPECT_EQ(pod["nodeSelector"]["nvidia.com/gpu"], "true");
  EXPECT_EQ(pod["nodeSelector"]["nvidia.com/gpu.product"], "NVIDIA-L40S");
  EXPECT_EQ(pod["tolerations"][0], (Json{{"key", "nvidia.com/gpu"}, {"operator", "Exists"}, {"effect", "NoSchedule"}}));
  EXPECT_FALSE(pod.contains("initContainers"));  // airlock serve pulls by itself
  const Json& container = pod["containers"][0];
  EXPECT_EQ(container["image"], "registry.local/airlock:1");
  const Json expected_args = Json::array({"serve", "--model-profiles-path", "s3://models/nv-embed", "--cache-dir",
                                          "/model-store", "--host", "0.0.0.0", "--port", "8000", "--served-model-name",
                                          "nv-embed.v1", "--api-key-file", "/etc/airlock/api-key/key", "--profile",
                                          "abc123"});
  EXPECT_EQ(container["args"], expected_args);
  EXPECT_EQ(container["resources"]["requests"]["nvidia.com/gpu"], "2");
  EXPECT_EQ(container["resources"]["limits"]["nvidia.com/gpu"], "2");
  EXPECT_EQ(container["envFrom"][0]["secretRef"]["name"], "airlock-store-credentials");
  EXPECT_EQ(container["readinessProbe"]["httpGet"]["path"], "/v1/health/ready");
  EXPECT_EQ(container["livenessProbe"]["httpGet"]["path"], "/v1/health/live");
  EXPECT_EQ(container["startupProbe"]["httpGet"]["path"], "/v1/health/ready");
  EXPECT_EQ(container["securityContext"]["allowPrivilegeEscalation"], false);
  const Json* service = find_kind(objects, "Service");
  ASSERT_NE(service, nullptr);
  EXPECT_EQ((*service)["spec"]["selector"]["airlock.dev/model-id"], "m-0123456789abcdef");
  EXPECT_EQ(in_cluster_url(gpu_model("airlock:1"), options), "http://nv-embed-v1.airlock-models.svc.cluster.local:8000");
}

TEST(KubernetesManifests, NimImageGetsAPullInitContainerAndNimVariables) {
  KubernetesOptions options;
  options.runtime_image = "airlock:1";
  const auto objects = render_model_objects(gpu_model("nvcr.io/nim/nvidia/embed:1"), "k", options);
  EXPECT_EQ(find_kind(objects, "Secret"), nullptr);  // NIM images take no key
  const Json& pod = (*find_kind(objects, "Deployment"))["spec"]["template"]["spec"];
  const Json& init = pod["initContainers"][0];
  EXPECT_EQ(init["image"], "airlock:1");
  EXPECT_EQ(init["args"], (Json::array({"pull", "s3://models/nv-embed", "/model-store"})));
  const Json& env = pod["containers"][0]["env"];
  bool cache_path = false, profile = false;
  for (const Json& e : env) {
    if (e["name"] == "NIM_CACHE_PATH") cache_path = e["value"] == "/model-store";
    if (e["name"] == "NIM_MODEL_PROFILE") profile = e["value"] == "abc123";
    EXPECT_NE(e["name"], "NGC_API_KEY");  // offline: an NGC key breaks NIM starts
  }
  EXPECT_TRUE(cache_path);
  EXPECT_TRUE(profile);
}

TEST(KubernetesManifests, KServeObjectsAndTheStorageContainer) {
  KubernetesOptions options;
  options.mode = "kserve";
  options.runtime_image = "airlock:1";
  AiModel model = gpu_model("airlock:1");
  const auto objects = render_model_objects(model, "k", options);
  const Json* runtime = find_kind(objects, "ServingRuntime");
  const Json* isvc = find_kind(objects, "InferenceService");
  ASSERT_NE(runtime, nullptr);
  ASSERT_NE(isvc, nullptr);
  EXPECT_EQ((*isvc)["apiVersion"], "serving.kserve.io/v1beta1");
  EXPECT_EQ((*isvc)["spec"]["predictor"]["model"]["storageUri"], "s3://models/nv-embed");
  EXPECT_EQ((*isvc)["spec"]["predictor"]["model"]["runtime"], "nv-embed-v1-runtime");
  EXPECT_EQ((*isvc)["metadata"]["annotations"]["storage.kserve.io/readonly"], "false");
  EXPECT_EQ((*isvc)["spec"]["predictor"]["tolerations"][0]["key"], "nvidia.com/gpu");
  EXPECT_EQ((*runtime)["spec"]["containers"][0]["name"], "kserve-container");
  // The storage initializer fetched the cache: serve reads it as it is.
  const Json& args = (*runtime)["spec"]["containers"][0]["args"];
  EXPECT_EQ(std::find(args.begin(), args.end(), Json("--model-profiles-path")), args.end());
  EXPECT_NE(std::find(args.begin(), args.end(), Json("/mnt/models")), args.end());

  const Json csc = render_cluster_storage_container(options);
  EXPECT_EQ(csc["kind"], "ClusterStorageContainer");
  EXPECT_EQ(csc["spec"]["container"]["name"], "storage-initializer");
  EXPECT_EQ(csc["spec"]["container"]["command"], (Json::array({"airlock", "pull"})));
  // All six URI forms are claimed.
  std::string formats = dump_json(csc["spec"]["supportedUriFormats"]);
  for (const char* form : {"s3://", "gs://", "hdfs://", "webhdfs://", "blob\\\\.core\\\\.windows\\\\.net", "https://"}) {
    EXPECT_NE(formats.find(form), std::string::npos) << form << " in " << formats;
  }
}

TEST(KubernetesManifests, CpuModelHasNoGpuScheduling) {
  AiModel model = gpu_model("airlock:1");
  model.compute = Compute{"", 0, "2", "4Gi"};
  const auto objects = render_model_objects(model, "k", KubernetesOptions{});
  const Json& pod = (*find_kind(objects, "Deployment"))["spec"]["template"]["spec"];
  EXPECT_FALSE(pod.contains("tolerations"));
  EXPECT_FALSE(pod.contains("nodeSelector"));
  EXPECT_FALSE(pod["containers"][0]["resources"]["requests"].contains("nvidia.com/gpu"));
}

}  // namespace
}  // namespace airlock::manager
