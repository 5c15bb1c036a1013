// `airlock manager`: the model control plane (REST API, web UI, deployers, model proxy), and
// `airlock manager access-key create|ls|revoke`, which work on the same data directory whether or
// not a manager is running.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "cli/store_options.h"
#include "core/json.h"
#include "core/strings.h"
#include "manager/access_keys.h"
#include "manager/database.h"
#include "manager/manager.h"

namespace airlock::cli {
namespace {

// "500ms", "2s", "1.5m", "1h"; a bare number is seconds.
Result<std::chrono::milliseconds> parse_duration(std::string_view text, std::string_view flag) {
  const std::string trimmed(trim(text));
  std::size_t end = 0;
  while (end < trimmed.size() && (std::isdigit(static_cast<unsigned char>(trimmed[end])) || trimmed[end] == '.')) ++end;
  const std::string number = trimmed.substr(0, end);
  const std::string unit = trimmed.substr(end);
  double value = 0;
  try {
    if (number.empty()) throw std::invalid_argument("empty");
    value = std::stod(number);
  } catch (const std::exception&) {
    return invalid_argument(fmt::format("{} '{}' is not a duration (examples: 500ms, 2s, 5m)", flag, text));
  }
  double factor = 0;
  if (unit == "ms") factor = 1;
  else if (unit.empty() || unit == "s") factor = 1000;
  else if (unit == "m") factor = 60'000;
  else if (unit == "h") factor = 3'600'000;
  else return invalid_argument(fmt::format("{} '{}' has an unknown unit: use ms, s, m or h", flag, text));
  return std::chrono::milliseconds(static_cast<std::int64_t>(value * factor));
}

struct ManagerFlags {
  std::string data_dir;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string public_url;
  std::string tls_cert, tls_key;
  std::string deployer = "local";
  std::string runtime_image;
  bool stop_models_on_exit = false;
  std::string proxy_timeout = "300s";
  // local
  std::string serve_command;
  std::vector<std::string> serve_args;
  std::string restart_backoff = "1s";
  std::string probe_interval = "1s";
  std::string stop_grace = "15s";
  // kubernetes
  std::string kubeconfig;
  std::string kube_context;
  std::string kubectl = "kubectl";
  std::string namespace_name = "airlock-models";
  std::string kubernetes_mode = "deployment";
  std::string manifests_dir;
  std::vector<std::string> image_pull_secrets;
  std::string store_secret = "airlock-store-credentials";
  std::string cache_pvc;
  std::string cache_size;
  std::string service_account;
  StoreOptions store;
};

Status run(const ManagerFlags& flags) {
  manager::ManagerOptions options;
  options.data_dir = flags.data_dir;
  options.host = flags.host;
  options.port = flags.port;
  options.public_url = flags.public_url;
  if (!flags.tls_cert.empty() || !flags.tls_key.empty()) {
    if (flags.tls_cert.empty() || flags.tls_key.empty()) return invalid_argument("--tls-cert and --tls-key go together");
    options.tls = net::TlsOptions{flags.tls_cert, flags.tls_key};
  }
  options.deployer = flags.deployer;
  options.runtime_image = flags.runtime_image;
  options.stop_models_on_exit = flags.stop_models_on_exit;
  AIRLOCK_ASSIGN_OR_RETURN(options.proxy_timeout, parse_duration(flags.proxy_timeout, "--proxy-timeout"));
  options.store = flags.store.config(8);

  for (std::string_view word : split(flags.serve_command, ' ')) {
    if (!trim(word).empty()) options.local.serve_command.emplace_back(trim(word));
  }
  options.local.extra_serve_args = flags.serve_args;
  AIRLOCK_ASSIGN_OR_RETURN(options.local.restart_backoff, parse_duration(flags.restart_backoff, "--restart-backoff"));
  AIRLOCK_ASSIGN_OR_RETURN(options.local.probe_interval, parse_duration(flags.probe_interval, "--probe-interval"));
  AIRLOCK_ASSIGN_OR_RETURN(options.local.stop_grace, parse_duration(flags.stop_grace, "--stop-grace"));

  options.kubernetes.kubeconfig = flags.kubeconfig;
  options.kubernetes.context = flags.kube_context;
  options.kubernetes.kubectl = flags.kubectl;
  options.kubernetes.manifests_dir = flags.manifests_dir;
  options.kubernetes.render.mode = flags.kubernetes_mode;
  options.kubernetes.render.namespace_name = flags.namespace_name;
  options.kubernetes.render.image_pull_secrets = flags.image_pull_secrets;
  options.kubernetes.render.store_secret = flags.store_secret;
  options.kubernetes.render.cache_pvc = flags.cache_pvc;
  options.kubernetes.render.cache_size_limit = flags.cache_size;
  options.kubernetes.render.service_account = flags.service_account;
  return manager::run_manager(std::move(options));
}

std::filesystem::path data_dir_of(const std::string& flag) {
  return flag.empty() ? manager::default_manager_data_dir() : std::filesystem::path(flag);
}

struct KeyFlags {
  std::string name;
  std::string role = "admin";
  std::string id;
  bool json = false;
};

Status create_key(const std::string& data_dir, const KeyFlags& flags, const GlobalOptions& global) {
  AIRLOCK_ASSIGN_OR_RETURN(manager::AccessRole role, manager::parse_role(flags.role));
  AIRLOCK_ASSIGN_OR_RETURN(auto db, manager::open_manager_database(data_dir_of(data_dir)));
  manager::AccessKeys keys(*db);
  AIRLOCK_ASSIGN_OR_RETURN(manager::CreatedAccessKey created, keys.create(flags.name, role));
  // The key is printed once, here, on purpose; it is never shown again.
  if (flags.json) {
    Json json = created.record.to_json();
    json["key"] = created.key;
    print(dump_json(json, 2) + "\n");
  } else if (global.quiet) {
    print(created.key + "\n");
  } else {
    print(fmt::format("Access key {} ({}, role {}) created. It is shown only this once; store it now:\n\n  {}\n\n"
                      "Use it as the x-access-key header, e.g.:\n"
                      "  curl -H \"x-access-key: $KEY\" http://127.0.0.1:8080/api/v1/ai-models\n",
                      created.record.id, created.record.name, manager::role_name(created.record.role), created.key));
  }
  return ok_status();
}

Status list_keys(const std::string& data_dir, const KeyFlags& flags) {
  AIRLOCK_ASSIGN_OR_RETURN(auto db, manager::open_manager_database(data_dir_of(data_dir)));
  manager::AccessKeys keys(*db);
  AIRLOCK_ASSIGN_OR_RETURN(auto list, keys.list());
  if (flags.json) {
    Json json = Json::array();
    for (const auto& key : list) json.push_back(key.to_json());
    print(dump_json(json, 2) + "\n");
    return ok_status();
  }
  if (list.empty()) {
    print("No access keys. Create one with `airlock manager access-key create --name <name>`.\n");
    return ok_status();
  }
  std::string out = fmt::format("{:<20}  {:<20}  {:<6}  {:<16}  {:<24}  {:<24}  {}\n", "ID", "NAME", "ROLE", "KEY",
                                "CREATED", "LAST USED", "STATUS");
  for (const auto& key : list) {
    out += fmt::format("{:<20}  {:<20}  {:<6}  {:<16}  {:<24}  {:<24}  {}\n", key.id, key.name, manager::role_name(key.role),
                       key.key_prefix, key.created_at, key.last_used_at.empty() ? "never" : key.last_used_at,
                       key.revoked() ? "revoked " + key.revoked_at : "valid");
  }
  print(out);
  return ok_status();
}

Status revoke_key(const std::string& data_dir, const KeyFlags& flags) {
  AIRLOCK_ASSIGN_OR_RETURN(auto db, manager::open_manager_database(data_dir_of(data_dir)));
  manager::AccessKeys keys(*db);
  AIRLOCK_ASSIGN_OR_RETURN(auto revoked, keys.revoke(flags.id));
  if (flags.json) {
    print(dump_json(revoked.to_json(), 2) + "\n");
  } else {
    print(fmt::format("Access key {} ({}) revoked; requests with it now get 401.\n", revoked.id, revoked.name));
  }
  return ok_status();
}

}  // namespace

void add_manager_command(CLI::App& app, CommandContext context) {
  auto flags = std::make_shared<ManagerFlags>();
  CLI::App* command = app.add_subcommand(
      "manager", "Run the model control plane: REST API, web UI, local or Kubernetes deployer, model proxy");
  command->add_option("--data-dir", flags->data_dir,
                      "State directory (SQLite database, model caches); default $AIRLOCK_MANAGER_DATA or "
                      "~/.local/share/airlock/manager")
      ->envname("AIRLOCK_MANAGER_DATA");
  command->add_option("--host", flags->host, "Address to listen on (0.0.0.0 for every interface)")->capture_default_str();
  command->add_option("--port", flags->port, "Port to listen on")->capture_default_str()->check(CLI::Range(0, 65535));
  command->add_option("--public-url", flags->public_url,
                      "How clients reach the manager (endpoint URLs start with it); default: the Host of each request");
  command->add_option("--tls-cert", flags->tls_cert, "PEM certificate chain: serve HTTPS");
  command->add_option("--tls-key", flags->tls_key, "PEM private key of --tls-cert");
  command->add_option("--deployer", flags->deployer, "local (airlock serve processes here) or kubernetes")
      ->check(CLI::IsMember({"local", "kubernetes"}))
      ->capture_default_str();
  command->add_option("--runtime-image", flags->runtime_image,
                      "Image of airlock's own runtime (default models, init containers); default airlock:<version>");
  command->add_flag("--stop-models-on-exit", flags->stop_models_on_exit,
                    "Stop the models' processes when the manager stops (default: leave them running and pick them up "
                    "at the next start)");
  command->add_option("--proxy-timeout", flags->proxy_timeout, "Deadline of one request through the model proxy")
      ->capture_default_str();
  command->add_option("--serve-command", flags->serve_command,
                      "local: the program (and leading words) that runs a model; default: this airlock binary and "
                      "'serve'");
  command->add_option("--serve-arg", flags->serve_args, "local: one more argument for every serve process (repeatable)");
  command->add_option("--restart-backoff", flags->restart_backoff, "local: first delay before restarting a crashed model")
      ->capture_default_str();
  command->add_option("--probe-interval", flags->probe_interval, "local: how often a starting model's readiness is probed")
      ->capture_default_str();
  command->add_option("--stop-grace", flags->stop_grace, "local: SIGTERM to SIGKILL when stopping a model")
      ->capture_default_str();
  command->add_option("--kubeconfig", flags->kubeconfig,
                      "kubernetes: apply with kubectl using this kubeconfig, or in-cluster for the pod's service account (without it, manifests are only written)");
  command->add_option("--kube-context", flags->kube_context, "kubernetes: kubeconfig context");
  command->add_option("--kubectl", flags->kubectl, "kubernetes: the kubectl program")->capture_default_str();
  command->add_option("--namespace", flags->namespace_name, "kubernetes: namespace of the models")->capture_default_str();
  command->add_option("--kubernetes-mode", flags->kubernetes_mode,
                      "kubernetes: deployment (Deployment + Service) or kserve (InferenceService + ServingRuntime)")
      ->check(CLI::IsMember({"deployment", "kserve"}))
      ->capture_default_str();
  command->add_option("--manifests-dir", flags->manifests_dir, "kubernetes: where manifests are written; default <data-dir>/manifests");
  command->add_option("--image-pull-secret", flags->image_pull_secrets, "kubernetes: image pull Secret (repeatable)");
  command->add_option("--store-secret", flags->store_secret,
                      "kubernetes: Secret with the store's variables (AWS_ACCESS_KEY_ID, ...) for the pods")
      ->capture_default_str();
  command->add_option("--cache-pvc", flags->cache_pvc, "kubernetes: PersistentVolumeClaim for the cache (default: emptyDir)");
  command->add_option("--cache-size", flags->cache_size, "kubernetes: size limit of the cache emptyDir (e.g. 200Gi)");
  command->add_option("--service-account", flags->service_account, "kubernetes: service account of the model pods");
  flags->store.add_to(*command);

  // access-key create|ls|revoke
  auto key_flags = std::make_shared<KeyFlags>();
  CLI::App* keys = command->add_subcommand("access-key", "Create, list and revoke the access keys of the manager API");
  keys->require_subcommand(1);
  CLI::App* create = keys->add_subcommand("create", "Create an access key (printed once; only its hash is stored)");
  create->add_option("--name", key_flags->name, "A label for people (who or what uses the key)")->required();
  create->add_option("--role", key_flags->role, "admin (read and change) or viewer (read only)")
      ->check(CLI::IsMember({"admin", "viewer"}))
      ->capture_default_str();
  CLI::App* ls = keys->add_subcommand("ls", "List access keys (never the keys themselves)");
  CLI::App* revoke = keys->add_subcommand("revoke", "Revoke an access key by id (ak_…) or shown prefix");
  revoke->add_option("KEY", key_flags->id, "The key's id or its shown prefix")->required();
  for (CLI::App* sub : {create, ls, revoke}) {
    sub->add_option("--data-dir", flags->data_dir, "The manager's state directory")->envname("AIRLOCK_MANAGER_DATA");
    sub->add_flag("--json", key_flags->json, "Print JSON");
  }
  create->callback([flags, key_flags, context] {
    context.action = [flags, key_flags, &global = context.global] { return create_key(flags->data_dir, *key_flags, global); };
  });
  ls->callback([flags, key_flags, context] {
    context.action = [flags, key_flags] { return list_keys(flags->data_dir, *key_flags); };
  });
  revoke->callback([flags, key_flags, context] {
    context.action = [flags, key_flags] { return revoke_key(flags->data_dir, *key_flags); };
  });
  command->callback([flags, command, context] {
    if (!command->get_subcommands().empty()) return;  // access-key …
    context.action = [flags] { return run(*flags); };
  });
}

AIRLOCK_REGISTER_COMMAND(60, add_manager_command);

}  // namespace airlock::cli
