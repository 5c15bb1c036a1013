#include "manager/manager.h"

#include <fmt/format.h>

#include <cstdio>

#include "core/env.h"
#include "core/log.h"
#include "core/version.h"
#include "manager/access_keys.h"
#include "manager/database.h"
#include "manager/default_models.h"
#include "manager/manager_api.h"
#include "manager/model_proxy.h"
#include "manager/model_registry.h"
#include "net/http_server.h"

namespace airlock::manager {

std::filesystem::path default_manager_data_dir() {
  if (auto dir = get_env("AIRLOCK_MANAGER_DATA")) return *dir;
  if (auto data_home = get_env("XDG_DATA_HOME")) return std::filesystem::path(*data_home) / "airlock" / "manager";
  if (auto home = get_env("HOME")) return std::filesystem::path(*home) / ".local" / "share" / "airlock" / "manager";
  return std::filesystem::path("airlock-manager");
}

Status run_manager(ManagerOptions options) {
  // First: a SIGTERM during start-up must stop the manager gracefully, not kill it mid-write.
  net::TerminationSignal signal;
  if (options.data_dir.empty()) options.data_dir = default_manager_data_dir();
  if (options.runtime_image.empty()) options.runtime_image = default_runtime_image();
  AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, open_manager_database(options.data_dir));
  AccessKeys keys(*db);
  ModelRegistry models(*db);

  AIRLOCK_ASSIGN_OR_RETURN(int seeded, models.seed_defaults(default_models(options.runtime_image)));
  if (seeded > 0) log::info("first start: {} default models listed (none deployed yet)", seeded);
  AIRLOCK_ASSIGN_OR_RETURN(bool have_keys, keys.any_valid());
  if (!have_keys) {
    log::warn("no access keys yet: every /api/v1 call will be refused. Create one with `airlock manager access-key "
              "create --name admin --data-dir {}`",
              options.data_dir.string());
  }

  const StatusSink sink = [&models](const std::string& id, ModelStatus status, const std::string& message,
                                    const CacheState& cache) {
    auto changed = models.set_status(id, status, message, cache);
    if (!changed.ok()) {
      log::warn("recording the status of model {}: {}", id, changed.error().message());
    } else if (*changed) {
      log::debug("model {}: {}: {}", id, status_name(status), message);
    }
  };
  std::unique_ptr<Deployer> deployer;
  if (options.deployer == "local") {
    options.local.data_dir = options.data_dir;
    options.local.store = options.store;
    AIRLOCK_ASSIGN_OR_RETURN(deployer, make_local_deployer(options.local, *db, sink));
  } else if (options.deployer == "kubernetes") {
    options.kubernetes.render.runtime_image = options.runtime_image;
    if (options.kubernetes.manifests_dir.empty()) options.kubernetes.manifests_dir = options.data_dir / "manifests";
    AIRLOCK_ASSIGN_OR_RETURN(deployer, make_kubernetes_deployer(options.kubernetes, sink));
  } else {
    return invalid_argument(fmt::format("--deployer '{}': use local or kubernetes", options.deployer));
  }

  AIRLOCK_ASSIGN_OR_RETURN(std::vector<AiModel> all, models.list());
  std::vector<std::string> ids;
  for (const AiModel& model : all) {
    ids.push_back(model.id);
    AIRLOCK_ASSIGN_OR_RETURN(std::string upstream_key, models.upstream_key(model.id));
    Status applied = deployer->apply(model, upstream_key);
    if (!applied.ok()) {
      log::warn("model {}: {}", model.name, applied.error().message());
      sink(model.id, ModelStatus::kFailed, applied.error().message(), model.cache);
    }
  }
  deployer->forget_others(ids);

  AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<ModelProxy> proxy, ModelProxy::create(ProxyOptions{options.proxy_timeout}));
  net::HttpServerOptions server_options;
  server_options.host = options.host;
  server_options.port = options.port;
  server_options.tls = options.tls;
  server_options.max_body_bytes = 1 << 20;
  // Some handlers block for a while (DELETE waits for a model process to stop, check-path reads a
  // store); proxied requests do not hold a worker.
  server_options.worker_threads = 16;
  // A streamed model answer may pause between chunks for a while (long generations).
  server_options.write_timeout = std::chrono::milliseconds(120'000);
  server_options.access_log = [](const net::AccessLogEntry& entry) { log::debug("{}", net::format_access_log(entry)); };

  ManagerApiOptions api_options;
  api_options.runtime_image = options.runtime_image;
  api_options.store = options.store;
  api_options.public_url = options.public_url;
  auto api = std::make_unique<ManagerApi>(keys, models, *deployer, *proxy, api_options);
  net::Router router;
  AIRLOCK_TRY(api->add_routes(router));
  AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<net::HttpServer> server, net::HttpServer::start(server_options, std::move(router)));

  const std::string line =
      fmt::format("airlock manager {} listening on {} (web UI: {}/ui/, API: {}/api/v1, deployer: {}, data: {})\n",
                  kVersion, server->url(), server->url(), server->url(), deployer->name(), options.data_dir.string());
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);

  const int received = signal.wait();
  log::info("signal {}: stopping (in-flight requests get {} s)", received, options.shutdown_timeout.count() / 1000);
  server->shutdown(options.shutdown_timeout);
  deployer->shutdown(options.stop_models_on_exit);
  return ok_status();
}

}  // namespace airlock::manager
