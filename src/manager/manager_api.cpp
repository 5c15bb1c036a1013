#include "manager/manager_api.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "core/log.h"
#include "core/strings.h"
#include "core/version.h"
#include "manager/check_path.h"
#include "manager/embedded_assets.h"
#include "profiles/gpu_table.h"

namespace airlock::manager {
namespace {

using net::ServerRequest;
using net::ServerResponse;

ServerResponse data(int status, Json value) { return ServerResponse::json(status, Json{{"data", std::move(value)}}); }

ServerResponse error_response(const Error& error) {
  const int status = http_status_for(error.code());
  if (status == 500) {
    log::error("manager API: {}", error.message());
    return ServerResponse::error(500, "internal error: " + error.message());
  }
  return ServerResponse::error(status, error.message());
}

Result<Json> json_body(const ServerRequest& request) {
  if (auto type = request.header("Content-Type"); type && !type->empty()) {
    const std::string lower = to_lower(*type);
    // curl -d sends application/x-www-form-urlencoded unless told otherwise: read it as JSON.
    if (lower.find("json") == std::string::npos && !lower.starts_with("application/x-www-form-urlencoded")) {
      return invalid_argument(fmt::format("Content-Type '{}' is not JSON: send application/json", *type));
    }
  }
  if (trim(request.body).empty()) return invalid_argument("the request needs a JSON body");
  auto parsed = parse_json(request.body, "request body");
  if (!parsed.ok()) return invalid_argument(fmt::format("the body is not valid JSON: {}", parsed.error().message()));
  return std::move(*parsed);
}

Result<std::optional<bool>> parse_bool_param(const ServerRequest& request, const char* name) {
  auto value = request.query_param(name);
  if (!value) return std::optional<bool>();
  if (*value == "true" || *value == "1") return std::optional<bool>(true);
  if (*value == "false" || *value == "0") return std::optional<bool>(false);
  return invalid_argument(fmt::format("query parameter '{}' must be true or false", name));
}

}  // namespace

int http_status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kParse:
    case ErrorCode::kUnsupported:
      return 400;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
      return 409;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kUnavailable:
    case ErrorCode::kNetwork:
      return 503;
    case ErrorCode::kTimeout:
      return 504;
    case ErrorCode::kResourceExhausted:
      return 413;
    default:
      return 500;
  }
}

std::string ManagerApi::endpoint_for(const AiModel& model, const ServerRequest& request) const {
  if (!model.deployable()) return "";
  std::string base = options_.public_url;
  if (base.empty()) {
    std::string host = request.header("Host").value_or("");
    const bool safe = !host.empty() && host.size() < 256 && std::all_of(host.begin(), host.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    });
    base = fmt::format("{}://{}", request.tls ? "https" : "http", safe ? host : "localhost");
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  return fmt::format("{}/inferenceservices/{}", base, model.id);
}

std::mutex& ManagerApi::model_lock(const std::string& id) {
  return model_locks_[std::hash<std::string>{}(id) % model_locks_.size()];
}

Result<ManagerApi::Caller> ManagerApi::authenticate(const ServerRequest& request, bool write) {
  auto header = request.header("x-access-key");
  if (!header || trim(*header).empty()) {
    return Error(ErrorCode::kUnauthenticated,
                 "missing x-access-key header: create a key with `airlock manager access-key create` and send it as "
                 "x-access-key");
  }
  AIRLOCK_ASSIGN_OR_RETURN(AccessKey key, keys_.authenticate(trim(*header)));
  if (write && key.role == AccessRole::kViewer) {
    return Error(ErrorCode::kPermissionDenied,
                 fmt::format("access key '{}' has the viewer role: it may read, not change (use an admin key)", key.name));
  }
  return Caller{std::move(key)};
}

Status ManagerApi::add_routes(net::Router& router) {
  // Every /api/v1 route: authenticate, then run the handler; errors become JSON answers.
  const auto guarded = [this](bool write, ServerResponse (ManagerApi::*handler)(const ServerRequest&)) {
    return net::SyncHandler([this, write, handler](const ServerRequest& request) -> ServerResponse {
      auto caller = authenticate(request, write);
      if (!caller.ok()) return error_response(caller.error());
      return (this->*handler)(request);
    });
  };
  AIRLOCK_TRY(router.add("GET", "/api/v1/ai-models", guarded(false, &ManagerApi::list_models)));
  AIRLOCK_TRY(router.add("POST", "/api/v1/ai-models", guarded(true, &ManagerApi::create_model)));
  AIRLOCK_TRY(router.add("GET", "/api/v1/ai-models/{id}", guarded(false, &ManagerApi::get_model)));
  AIRLOCK_TRY(router.add("PATCH", "/api/v1/ai-models/{id}", guarded(true, &ManagerApi::patch_model)));
  AIRLOCK_TRY(router.add("DELETE", "/api/v1/ai-models/{id}", guarded(true, &ManagerApi::delete_model)));
  AIRLOCK_TRY(router.add("GET", "/api/v1/ai-models/{id}/api-keys", guarded(false, &ManagerApi::list_model_keys)));
  AIRLOCK_TRY(router.add("POST", "/api/v1/ai-models/{id}/api-keys", guarded(true, &ManagerApi::create_model_key)));
  AIRLOCK_TRY(router.add("DELETE", "/api/v1/ai-models/{id}/api-keys/{keyId}", guarded(true, &ManagerApi::delete_model_key)));
  // Checking a path reads, it changes nothing: viewers may do it.
  AIRLOCK_TRY(router.add("POST", "/api/v1/ai-models/{id}/check-path", guarded(false, &ManagerApi::check_model_path)));
  AIRLOCK_TRY(router.add("POST", "/api/v1/check-path", guarded(false, &ManagerApi::check_path)));
  AIRLOCK_TRY(router.add("GET", "/api/v1/info", guarded(false, &ManagerApi::info)));
  AIRLOCK_TRY(router.add("GET", "/api/v1/openapi.json", guarded(false, &ManagerApi::openapi)));

  for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    AIRLOCK_TRY(router.add(method, "/inferenceservices/{id}/{rest*}",
                           net::Handler([this](ServerRequest request, net::Responder responder) {
                             proxy(std::move(request), std::move(responder));
                           }),
                           net::RouteOptions{std::uint64_t{64} << 20, false}));
  }

  // Open: load balancers and kubelets probe these without a key; they reveal nothing.
  AIRLOCK_TRY(router.add("GET", "/health/live", net::SyncHandler([](const ServerRequest&) {
                           return ServerResponse::json(200, Json{{"status", "live"}});
                         }),
                         net::RouteOptions{std::nullopt, true}));
  AIRLOCK_TRY(router.add("GET", "/health/ready", net::SyncHandler([](const ServerRequest&) {
                           return ServerResponse::json(200, Json{{"status", "ready"}});
                         }),
                         net::RouteOptions{std::nullopt, true}));

  // The web UI: static files, no data in them (the page asks for an access key and calls the API).
  const auto redirect = net::SyncHandler([](const ServerRequest&) {
    ServerResponse response = ServerResponse::text(302, "See /ui/\n");
    response.headers.set("Location", "/ui/");
    return response;
  });
  AIRLOCK_TRY(router.add("GET", "/", redirect));
  AIRLOCK_TRY(router.add("GET", "/ui/{file*}", net::SyncHandler([](const ServerRequest& request) {
                           std::string file(request.param("file"));
                           if (file.empty()) file = "index.html";
                           const EmbeddedAsset* asset = find_embedded_asset("ui/" + file);
                           if (asset == nullptr) return ServerResponse::error(404, "no such file in the web UI");
                           ServerResponse response = ServerResponse::text(200, std::string(asset->data),
                                                                          std::string(content_type_for(asset->path)));
                           response.headers.set("Cache-Control", "no-cache");
                           response.headers.set("X-Content-Type-Options", "nosniff");
                           response.headers.set("Content-Security-Policy",
                                                "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
                                                "style-src 'self'; script-src 'self'; frame-ancestors 'none'");
                           return response;
                         })));
  return ok_status();
}

ServerResponse ManagerApi::list_models(const ServerRequest& request) {
  ModelFilter filter;
  if (auto kind = request.query_param("kind")) {
    auto parsed = parse_kind(*kind);
    if (!parsed.ok()) return error_response(parsed.error());
    filter.kind = *parsed;
  }
  if (auto status = request.query_param("status")) {
    auto parsed = parse_status(*status);
    if (!parsed.ok()) return error_response(parsed.error());
    filter.status = *parsed;
  }
  auto is_default = parse_bool_param(request, "isDefault");
  if (!is_default.ok()) return error_response(is_default.error());
  filter.is_default = *is_default;
  if (auto name = request.query_param("name")) filter.name_contains = *name;
  auto models = models_.list(filter);
  if (!models.ok()) return error_response(models.error());
  Json list = Json::array();
  for (const AiModel& model : *models) list.push_back(model_to_json(model, endpoint_for(model, request)));
  return data(200, list);
}

ServerResponse ManagerApi::get_model(const ServerRequest& request) {
  auto model = models_.find(request.param("id"));
  if (!model.ok()) return error_response(model.error());
  if (!*model) return ServerResponse::error(404, fmt::format("no model '{}'", request.param("id")));
  Json json = model_to_json(**model, endpoint_for(**model, request));
  auto keys = models_.api_keys((*model)->id);
  if (!keys.ok()) return error_response(keys.error());
  Json key_list = Json::array();
  for (const ModelApiKey& key : *keys) key_list.push_back(key.to_json());
  json["apiKeys"] = key_list;
  return data(200, json);
}

ServerResponse ManagerApi::create_model(const ServerRequest& request) {
  auto body = json_body(request);
  if (!body.ok()) return error_response(body.error());
  auto model = model_from_create_body(*body, CreateDefaults{options_.runtime_image});
  if (!model.ok()) return error_response(model.error());
  auto created = models_.create(std::move(*model));
  if (!created.ok()) return error_response(created.error());
  {
    std::lock_guard<std::mutex> lock(model_lock(created->model.id));
    auto upstream_key = models_.upstream_key(created->model.id);
    if (!upstream_key.ok()) return error_response(upstream_key.error());
    Status deployed = deployer_.apply(created->model, *upstream_key);
    if (!deployed.ok()) {
      (void)models_.set_status(created->model.id, ModelStatus::kFailed, deployed.error().message(), CacheState{});
      created->model.status = ModelStatus::kFailed;
      created->model.status_message = deployed.error().message();
    }
  }
  log::info("model {} ({}) created: {}", created->model.name, created->model.id,
            created->model.deployable() ? "deploying" : "not deployed (no model profiles path)");
  auto current = models_.find(created->model.id);
  const AiModel& shown = current.ok() && *current ? **current : created->model;
  Json json = model_to_json(shown, endpoint_for(shown, request));
  json["apiKeys"] = Json::array({created->api_key.to_json()});
  json["apiKey"] = created->key;
  ServerResponse response = data(201, json);
  response.headers.set("Location", "/api/v1/ai-models/" + created->model.id);
  return response;
}

ServerResponse ManagerApi::patch_model(const ServerRequest& request) {
  auto body = json_body(request);
  if (!body.ok()) return error_response(body.error());
  auto found = models_.find(request.param("id"));
  if (!found.ok()) return error_response(found.error());
  if (!*found) return ServerResponse::error(404, fmt::format("no model '{}'", request.param("id")));
  std::lock_guard<std::mutex> lock(model_lock((*found)->id));
  // Read again under the lock: a concurrent PATCH may have changed it.
  found = models_.find((*found)->id);
  if (!found.ok()) return error_response(found.error());
  if (!*found) return ServerResponse::error(404, fmt::format("no model '{}'", request.param("id")));
  AiModel model = **found;
  auto redeploy = apply_model_patch(model, *body);
  if (!redeploy.ok()) return error_response(redeploy.error());
  auto updated = models_.update(model, *redeploy);
  if (!updated.ok()) return error_response(updated.error());
  if (*redeploy) {
    auto upstream_key = models_.upstream_key(updated->id);
    if (!upstream_key.ok()) return error_response(upstream_key.error());
    Status deployed = deployer_.apply(*updated, *upstream_key);
    if (!deployed.ok()) {
      (void)models_.set_status(updated->id, ModelStatus::kFailed, deployed.error().message(), CacheState{});
    }
    log::info("model {} ({}) changed: redeploying", updated->name, updated->id);
  }
  auto current = models_.find(updated->id);
  const AiModel& shown = current.ok() && *current ? **current : *updated;
  return data(200, model_to_json(shown, endpoint_for(shown, request)));
}

ServerResponse ManagerApi::delete_model(const ServerRequest& request) {
  auto found = models_.find(request.param("id"));
  if (!found.ok()) return error_response(found.error());
  if (!*found) return ServerResponse::error(404, fmt::format("no model '{}'", request.param("id")));
  const AiModel model = **found;
  std::lock_guard<std::mutex> lock(model_lock(model.id));
  Status stopped = deployer_.remove(model.id);
  if (!stopped.ok()) {
    return error_response(stopped.error().with_context(fmt::format("stopping model {}", model.name)));
  }
  Status removed = models_.remove(model.id);
  if (!removed.ok()) return error_response(removed.error());
  log::info("model {} ({}) deleted", model.name, model.id);
  return data(200, Json{{"id", model.id}, {"name", model.name}, {"deleted", true}});
}

ServerResponse ManagerApi::create_model_key(const ServerRequest& request) {
  auto found = models_.find(request.param("id"));
  if (!found.ok()) return error_response(found.error());
  if (!*found) return ServerResponse::error(404, fmt::format("no model '{}'", request.param("id")));
  auto created = models_.add_api_key((*found)->id);
  if (!created.ok()) return error_response(created.error());
  Json json = created->api_key.to_json();
  json["key"] = created->key;
  return data(201, json);
}

ServerResponse ManagerApi::list_model_keys(const ServerRequest& request) {
  auto found = models_.find(request.param("id"));
  if (!found.ok()) return error_response(found.error());
  if (!*found) return ServerResponse::error(404, fmt::format("no model '{}'", request.param("id")));
  auto keys = models_.api_keys((*found)->id);
  if (!keys.ok()) return error_response(keys.error());
  Json list = Json::array();
  for (const ModelApiKey& key : *keys) list.push_back(key.to_json());
  return data(200, list);
}

ServerResponse ManagerApi::delete_model_key(const ServerRequest& request) {
  auto found = models_.find(request.param("id"));
  if (!found.ok()) return error_response(found.error());
  if (!*found) return ServerResponse::error(404, fmt::format("no model '{}'", request.param("id")));
  Status removed = models_.revoke_api_key((*found)->id, request.param("keyId"));
  if (!removed.ok()) return error_response(removed.error());
  return data(200, Json{{"id", std::string(request.param("keyId"))}, {"deleted", true}});
}

ServerResponse ManagerApi::check_path(const ServerRequest& request) {
  auto body = json_body(request);
  if (!body.ok()) return error_response(body.error());
  if (!body->is_object()) return ServerResponse::error(400, "the body must be {\"modelProfilesPath\": \"s3://…\"}");
  for (const auto& [key, value] : body->items()) {
    if (key != "modelProfilesPath") {
      return ServerResponse::error(400, fmt::format("unknown field '{}': the body is {{\"modelProfilesPath\": \"…\"}}", key));
    }
  }
  if (!body->contains("modelProfilesPath") || !(*body)["modelProfilesPath"].is_string()) {
    return ServerResponse::error(400, "'modelProfilesPath' (a string) is required");
  }
  auto check = check_model_profiles_path((*body)["modelProfilesPath"].get<std::string>(), options_.store);
  if (!check.ok()) return error_response(check.error());
  return data(200, check->to_json());
}

ServerResponse ManagerApi::check_model_path(const ServerRequest& request) {
  auto found = models_.find(request.param("id"));
  if (!found.ok()) return error_response(found.error());
  if (!*found) return ServerResponse::error(404, fmt::format("no model '{}'", request.param("id")));
  if ((*found)->model_profiles_path.empty()) {
    return ServerResponse::error(400, fmt::format("model '{}' has no modelProfilesPath to check", (*found)->name));
  }
  auto check = check_model_profiles_path((*found)->model_profiles_path, options_.store);
  if (!check.ok()) return error_response(check.error());
  return data(200, check->to_json());
}

ServerResponse ManagerApi::info(const ServerRequest& request) {
  auto caller = authenticate(request, false);
  Json gpus = Json::array();
  for (const profiles::GpuModel& gpu : profiles::all_gpu_models()) {
    const std::string name(gpu.short_name());
    if (std::find(gpus.begin(), gpus.end(), Json(name)) == gpus.end()) gpus.push_back(name);
  }
  Json json = {{"version", std::string(kVersion)},
               {"deployer", std::string(deployer_.name())},
               {"publicUrl", options_.public_url},
               {"runtimeImage", options_.runtime_image},
               {"kinds", Json::array({"embedding", "reranker", "llm", "clip", "ocr"})},
               {"gpuTypes", gpus},
               {"storeForms", Json::array({"s3://bucket/prefix", "gs://bucket/prefix", "hdfs://namenode:port/path",
                                           "webhdfs://host:port/path",
                                           "https://<account>.blob.core.windows.net/<container>/<prefix>",
                                           "https://host/path", "file:///absolute/path"})}};
  if (caller.ok()) {
    json["accessKey"] = {{"id", caller->key.id}, {"name", caller->key.name},
                         {"role", std::string(role_name(caller->key.role))}};
  }
  return data(200, json);
}

ServerResponse ManagerApi::openapi(const ServerRequest&) {
  const EmbeddedAsset* asset = find_embedded_asset("openapi.json");
  if (asset == nullptr) return ServerResponse::error(500, "the OpenAPI document is missing from this build");
  return ServerResponse::json(200, std::string(asset->data));
}

void ManagerApi::proxy(ServerRequest request, net::Responder responder) {
  const std::string id(request.param("id"));
  const std::string rest(request.param("rest"));
  auto found = models_.find(id);
  if (!found.ok()) {
    responder.respond(error_response(found.error()));
    return;
  }
  if (!*found) {
    responder.respond(ServerResponse::error(404, fmt::format("no model '{}'", id)));
    return;
  }
  const AiModel& model = **found;
  // A model's own key, or an access key (people trying a model from the UI or with curl).
  bool allowed = false;
  if (auto access = request.header("x-access-key"); access && !trim(*access).empty()) {
    auto key = keys_.authenticate(trim(*access));
    if (!key.ok()) {
      responder.respond(error_response(key.error()));
      return;
    }
    allowed = true;
  } else if (auto authorization = request.header("Authorization")) {
    std::string_view value = trim(*authorization);
    if (value.size() > 7 && iequals(value.substr(0, 7), "bearer ")) {
      auto owner = models_.model_for_key(trim(value.substr(7)));
      if (!owner.ok()) {
        responder.respond(error_response(owner.error()));
        return;
      }
      if (!*owner) {
        responder.respond(ServerResponse::error(401, "the bearer token is not an API key of any model"));
        return;
      }
      if (**owner != model.id) {
        responder.respond(ServerResponse::error(
            403, fmt::format("this API key belongs to another model, not to '{}'", model.name)));
        return;
      }
      allowed = true;
    }
  }
  if (!allowed) {
    responder.respond(ServerResponse::error(
        401, "missing credentials: send the model's API key as 'Authorization: Bearer <key>' (or an access key as "
             "x-access-key)"));
    return;
  }
  if (!model.deployable()) {
    responder.respond(ServerResponse::error(
        409, fmt::format("model '{}' is not deployed: {}", model.name, model.status_message)));
    return;
  }
  auto upstream = deployer_.upstream(model.id);
  if (!upstream) {
    ServerResponse response = ServerResponse::error(
        503, fmt::format("model '{}' is not ready ({}: {})", model.name, status_name(model.status), model.status_message));
    response.headers.set("Retry-After", "5");
    responder.respond(std::move(response));
    return;
  }
  proxy_.forward(request, rest, ProxyTarget{upstream->base_url, upstream->api_key}, std::move(responder));
}

}  // namespace airlock::manager
