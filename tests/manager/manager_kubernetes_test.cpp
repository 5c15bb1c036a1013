// The Kubernetes deployer: manifests written for a person to apply (no kubeconfig), and applied
// with kubectl to a Kubernetes API server (tests/manager/kube_api_server.py) whose reported
// status the manager follows. Every rendered object is parsed by an independent YAML parser
// (PyYAML) and validated against the Kubernetes schemas of the npm package kubernetes-models
// (tests/manager/validate_manifests.cjs).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "manager_fixture.h"

namespace airlock::testing {
namespace {

// Every document of every YAML file, as a JSON array, by PyYAML.
Json yaml_documents(const std::vector<fs::path>& files) {
  std::vector<std::string> argv = {"/usr/bin/python3", "-c",
                                   "import json, sys, yaml\n"
                                   "docs = []\n"
                                   "for name in sys.argv[1:]:\n"
                                   "    with open(name) as f:\n"
                                   "        docs += [d for d in yaml.safe_load_all(f) if d is not None]\n"
                                   "print(json.dumps(docs))\n"};
  for (const fs::path& file : files) argv.push_back(file.string());
  CommandResult result = run_command(argv);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return parse_json(result.out, "yaml").value_or(Json::array());
}

// kubernetes-models' verdict on `objects`.
void expect_valid(const Json& objects, const fs::path& scratch) {
  write_text(scratch, dump_json(objects));
  CommandResult result = run_command({"node", (project_root() / "tests/manager/validate_manifests.cjs").string(),
                                      scratch.string()},
                                     {{"AIRLOCK_PROJECT_ROOT", project_root().string()}});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  auto verdict = parse_json(result.out, "validate_manifests");
  ASSERT_TRUE(verdict.ok()) << result.out << result.err;
  EXPECT_EQ((*verdict)["ok"], true) << result.out;
  EXPECT_EQ((*verdict)["checked"].size(), objects.size());
}

// kubernetes-models comes from package.json (scripts/setup); kubectl is not a Debian 12 package.
bool have_validator() { return fs::exists(project_root() / "node_modules" / "kubernetes-models"); }
bool have_kubectl() { return run_command({"kubectl", "version", "--client"}).exit_code == 0; }

const Json* find_object(const Json& objects, const std::string& kind, const std::string& name = "") {
  for (const Json& object : objects) {
    if (object["kind"] == kind && (name.empty() || object["metadata"]["name"] == name)) return &object;
  }
  return nullptr;
}

TEST(KubernetesDeployer, WritesValidManifestsWithoutAKubeconfig) {
  if (!have_validator()) GTEST_SKIP() << "npm kubernetes-models is not installed (scripts/setup)";
  TempDir dir;
  ManagerProcess manager(dir.path() / "data");
  const std::string key = manager.create_key("admin");
  const fs::path manifests = dir.path() / "manifests";
  ASSERT_TRUE(manager.start({"--deployer", "kubernetes", "--manifests-dir", manifests.string(), "--runtime-image",
                             "registry.local:5000/airlock:0.1.0", "--image-pull-secret", "regcred",
                             "--namespace", "models"},
                            {{"HOME", dir.path().string()}}))
      << manager.log();

  ApiResponse created = manager.call("POST", "/api/v1/ai-models", key,
                                     Json{{"name", "bge.small"}, {"kind", "embedding"},
                                          {"imageUrl", "registry.local:5000/airlock:0.1.0"},
                                          {"modelProfilesPath", "s3://models/bge-small"},
                                          {"compute", {{"gpuType", "L40S"}, {"gpuCount", 1}, {"cpu", "4"}, {"memory", "16Gi"}}},
                                          {"replicas", 2}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.json["data"]["id"];
  Json model = manager.wait_for_model(id, key, [](const Json& m) { return m["status"] == "Unknown"; });
  EXPECT_NE(model["statusMessage"].get<std::string>().find("kubectl apply -f"), std::string::npos) << dump_json(model);

  // A default NIM model, pointed at the private registry and given a path: an init container pulls.
  ApiResponse nim = manager.call("PATCH", "/api/v1/ai-models/llama-3.2-nemoretriever-300m-embed-v1", key,
                                 Json{{"imageUrl", "registry.local:5000/nim/nvidia/llama-3.2-nemoretriever-300m-embed-v1:1.3"},
                                      {"modelProfilesPath", "gs://models/nemoretriever"}});
  ASSERT_EQ(nim.status, 200) << nim.body;

  const fs::path model_file = manifests / "bge-small.yaml";
  const fs::path nim_file = manifests / "llama-3-2-nemoretriever-300m-embed-v1.yaml";
  ASSERT_TRUE(wait_until([&] { return fs::exists(model_file) && fs::exists(nim_file); })) << manager.log();
  struct stat info {};
  ASSERT_EQ(::stat(model_file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);  // it holds the model's upstream key

  Json objects = yaml_documents({manifests / "namespace.yaml", model_file, nim_file});
  ASSERT_EQ(objects.size(), 1u + 3u + 2u) << dump_json(objects);
  expect_valid(objects, dir.path() / "objects.json");
  const Json* deployment = find_object(objects, "Deployment", "bge-small");
  ASSERT_NE(deployment, nullptr);
  EXPECT_EQ((*deployment)["metadata"]["namespace"], "models");
  const Json& pod = (*deployment)["spec"]["template"]["spec"];
  EXPECT_EQ(pod["imagePullSecrets"][0]["name"], "regcred");
  EXPECT_EQ(pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"], "1");
  const Json* nim_deployment = find_object(objects, "Deployment", "llama-3-2-nemoretriever-300m-embed-v1");
  ASSERT_NE(nim_deployment, nullptr);
  const Json& init = (*nim_deployment)["spec"]["template"]["spec"]["initContainers"][0];
  EXPECT_EQ(init["image"], "registry.local:5000/airlock:0.1.0");
  EXPECT_EQ(init["args"][1], "gs://models/nemoretriever");

  // Delete removes the file.
  ASSERT_EQ(manager.call("DELETE", "/api/v1/ai-models/" + id, key).status, 200);
  EXPECT_FALSE(fs::exists(model_file));
}

TEST(KubernetesDeployer, AppliesWithKubectlAndFollowsTheClusterKServeMode) {
  if (!have_validator()) GTEST_SKIP() << "npm kubernetes-models is not installed (scripts/setup)";
  if (!have_kubectl()) GTEST_SKIP() << "no kubectl on PATH (Debian 12 does not package it): the apply path is untested here";
  TempDir dir;
  ServerProcess api;
  ASSERT_TRUE(api.start({"/usr/bin/python3", (project_root() / "tests/manager/kube_api_server.py").string()}))
      << api.last_output();
  const fs::path kubeconfig = dir.path() / "kubeconfig";
  write_text(kubeconfig, "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: http://127.0.0.1:" +
                             std::to_string(api.port()) +
                             "\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: test\n"
                             "current-context: test\nusers:\n- name: test\n  user:\n    token: test-token\n");
  ManagerProcess manager(dir.path() / "data");
  const std::string key = manager.create_key("admin");
  ASSERT_TRUE(manager.start({"--deployer", "kubernetes", "--kubernetes-mode", "kserve", "--kubeconfig",
                             kubeconfig.string(), "--runtime-image", "airlock:0.1.0"},
                            {{"HOME", dir.path().string()}}))
      << manager.log();

  const auto cluster = [&] {
    auto response = test_client()->send(net::HttpRequest::get("http://127.0.0.1:" + std::to_string(api.port()) + "/_objects"));
    return response.ok() ? parse_json(response->body, "objects").value_or(Json::array()) : Json::array();
  };
  // At start: the namespace and the storage initializer for the six URI forms.
  Json objects = cluster();
  ASSERT_NE(find_object(objects, "Namespace", "airlock-models"), nullptr) << dump_json(objects) << manager.log();
  ASSERT_NE(find_object(objects, "ClusterStorageContainer", "airlock-pull"), nullptr);

  ApiResponse created = manager.call("POST", "/api/v1/ai-models", key,
                                     Json{{"name", "reranker"}, {"kind", "reranker"},
                                          {"modelProfilesPath", "https://acct.blob.core.windows.net/models/reranker"}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.json["data"]["id"];
  Json ready = manager.wait_for_model(id, key, [](const Json& m) { return m["status"] == "Ready"; }, std::chrono::seconds(60));
  EXPECT_EQ(ready["status"], "Ready") << dump_json(ready) << manager.log();

  objects = cluster();
  const Json* isvc = find_object(objects, "InferenceService", "reranker");
  ASSERT_NE(isvc, nullptr) << dump_json(objects);
  EXPECT_EQ((*isvc)["spec"]["predictor"]["model"]["storageUri"], "https://acct.blob.core.windows.net/models/reranker");
  ASSERT_NE(find_object(objects, "ServingRuntime", "reranker-runtime"), nullptr);
  ASSERT_NE(find_object(objects, "Secret", "reranker-api-key"), nullptr);
  Json without_status = Json::array();
  for (Json object : objects) {
    object.erase("status");
    without_status.push_back(object);
  }
  expect_valid(without_status, dir.path() / "cluster.json");

  ASSERT_EQ(manager.call("DELETE", "/api/v1/ai-models/" + id, key).status, 200);
  objects = cluster();
  EXPECT_EQ(find_object(objects, "InferenceService", "reranker"), nullptr) << dump_json(objects);
  EXPECT_EQ(find_object(objects, "ServingRuntime", "reranker-runtime"), nullptr);
  EXPECT_EQ(find_object(objects, "Secret", "reranker-api-key"), nullptr);
}

}  // namespace
}  // namespace airlock::testing
