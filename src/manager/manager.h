// `airlock manager`: the model control plane on one machine. Opens (or creates) the state under
// --data-dir, seeds the default models on first start, starts the deployer (local processes or
// Kubernetes), hands it every model in the database (which is how a restarted manager picks its
// models up again), and serves the API, the model proxy and the web UI until SIGTERM/SIGINT.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "manager/kubernetes_deployer.h"
#include "manager/local_deployer.h"
#include "net/tls_context.h"
#include "store/store_factory.h"

namespace airlock::manager {

struct ManagerOptions {
  std::filesystem::path data_dir;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::optional<net::TlsOptions> tls;
  std::string public_url;  // empty: the listening URL
  std::string deployer = "local";  // "local" or "kubernetes"
  std::string runtime_image;       // empty: airlock:<version>
  bool stop_models_on_exit = false;
  std::chrono::milliseconds proxy_timeout{300'000};
  std::chrono::milliseconds shutdown_timeout{10'000};
  LocalDeployerOptions local;            // data_dir and store filled in from here
  KubernetesDeployerOptions kubernetes;  // runtime_image filled in; manifests_dir defaults under data_dir
  store::StoreConfig store;
};

// The default data directory: $AIRLOCK_MANAGER_DATA, else ~/.local/share/airlock/manager.
std::filesystem::path default_manager_data_dir();

// Runs until a termination signal; returns after a graceful shutdown.
Status run_manager(ManagerOptions options);

}  // namespace airlock::manager
