// The Kubernetes deployer: renders each model's objects (kubernetes_manifests.h) into
// <manifests-dir>/<name>.yaml and, when a kubeconfig is given, applies them with
// `kubectl apply --server-side` and watches the Deployment (or InferenceService) for the
// status. Without a kubeconfig it only writes the manifests, for a person or a GitOps tool to
// apply, and says so in the status.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "manager/deployer.h"
#include "manager/kubernetes_manifests.h"

namespace airlock::manager {

struct KubernetesDeployerOptions {
  KubernetesOptions render;
  std::filesystem::path manifests_dir;
  std::string kubeconfig;  // empty: write manifests only; "in-cluster": the pod's service account
  std::string kubectl = "kubectl";
  std::string context;     // kubectl --context; empty: the kubeconfig's current one
  std::chrono::milliseconds poll_interval{10'000};
  std::chrono::milliseconds kubectl_timeout{60'000};
};

Result<std::unique_ptr<Deployer>> make_kubernetes_deployer(KubernetesDeployerOptions options, StatusSink sink);

}  // namespace airlock::manager
