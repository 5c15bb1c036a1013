#include "server/model_service.h"

#include <fmt/format.h>

#include <ctime>

#include "core/log.h"
#include "core/version.h"
#include "profiles/hardware.h"
#include "server/api_error.h"
#include "server/api_responses.h"

namespace airlock::server {
namespace {

net::ServerResponse json_response(int status, const Json& body) { return net::ServerResponse::json(status, dump_json(body)); }

std::string kind_name(engine::ModelKind kind) { return kind == engine::ModelKind::kEmbedding ? "embedding" : "reranker"; }

// The model a request names, checked against the served one. NIM's "-query" / "-passage"
// suffixes select the input type for clients that cannot send input_type.
std::variant<std::optional<engine::InputType>, ApiError> check_model(const std::string& requested, const std::string& served) {
  if (requested.empty() || requested == served) return std::optional<engine::InputType>();
  ModelName name = split_model_suffix(requested);
  if (name.input_type && name.base == served) return name.input_type;
  return model_not_found(requested, served);
}

}  // namespace

struct ModelService::Ready {
  LoadedModel loaded;
  std::unique_ptr<BatchScheduler> scheduler;
  std::string models_body;
  std::string metadata_body;
  std::string manifest_body;
  bool embedding = true;
};

ModelService::ModelService(const ServeOptions& options) : options_(options), keys_(options.api_keys) {
  limits_.max_inputs = options.max_client_batch_size;
}

ModelService::~ModelService() { stop_scheduler(); }

void ModelService::set_phase(std::string_view phase) {
  std::lock_guard<std::mutex> lock(mutex_);
  phase_ = std::string(phase);
}

void ModelService::set_failed(std::string_view message) {
  std::lock_guard<std::mutex> lock(mutex_);
  phase_ = fmt::format("startup failed: {}", message);
  failed_ = true;
}

std::string ModelService::phase() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return phase_;
}

void ModelService::set_stopping() {
  stopping_.store(true);
  metrics_.set_ready(false);
}

void ModelService::stop_scheduler() {
  if (const Ready* ready = ready_.load(std::memory_order_acquire)) ready->scheduler->stop();
}

void ModelService::set_ready(LoadedModel loaded, double startup_seconds) {
  auto ready = std::make_unique<Ready>();
  ready->loaded = std::move(loaded);
  const LoadedModel& m = ready->loaded;
  const engine::ModelInfo& info = m.model->info();
  ready->embedding = info.kind == engine::ModelKind::kEmbedding;

  SchedulerOptions scheduling;
  if (options_.max_batch_tokens == 0) {
    bool gpu = false;
    for (const auto& [key, value] : m.profile.tags) gpu = gpu || (key == "device" && value != "cpu");
    options_.max_batch_tokens = gpu ? 16384 : 4096;
  }
  scheduling.max_batch_tokens = options_.max_batch_tokens;
  scheduling.max_batch_requests = options_.max_batch_requests;
  scheduling.max_concurrent_requests = options_.max_concurrent_requests;
  scheduling.executors = options_.executors;
  ready->scheduler = std::make_unique<BatchScheduler>(
      *m.model, m.tokens.get(), scheduling,
      [this](std::size_t requests, std::size_t inputs, std::int64_t tokens, double seconds) {
        metrics_.record_batch(requests, inputs, tokens, seconds);
      });

  const auto created = static_cast<std::int64_t>(std::time(nullptr));
  Json model_entry = {{"id", m.served_model_name},
                      {"object", "model"},
                      {"created", created},
                      {"owned_by", "airlock"},
                      {"root", m.profile.model.empty() ? m.served_model_name : m.profile.model},
                      {"parent", nullptr},
                      {"max_model_len", info.max_tokens}};
  ready->models_body = dump_json(Json{{"object", "list"}, {"data", Json::array({model_entry})}});

  Json tags = Json::object();
  for (const auto& [k, v] : m.profile.tags) tags[k] = v;
  Json assets = Json::array();
  for (const cache::RecordedFile& f : m.profile.files) assets.push_back(f.path);
  Json metadata = {
      {"version", std::string(kVersion)},
      {"selectedModelProfileId", m.profile.id},
      {"selectedModelProfile", {{"id", m.profile.id}, {"description", m.description}, {"tags", tags}}},
      {"modelInfo", Json::array({{{"shortName", m.served_model_name},
                                  {"modelUrl", m.profile.files.empty() ? "" : m.profile.files.front().uri},
                                  {"name", m.profile.model}}})},
      {"assetInfo", assets},
      {"licenseInfo", Json::object()},
      {"repository_override", ""},
      {"model",
       {{"name", m.profile.model},
        {"served_model_name", m.served_model_name},
        {"kind", kind_name(info.kind)},
        {"architecture", info.architecture},
        {"model_type", info.model_type},
        {"dimensions", info.dimensions},
        {"max_tokens", info.max_tokens},
        {"backend", info.backend}}},
      {"hardware", profiles::hardware_to_json(m.hardware)},
      {"limits",
       {{"max_batch_tokens", options_.max_batch_tokens},
        {"max_concurrent_requests", options_.max_concurrent_requests},
        {"max_client_batch_size", options_.max_client_batch_size},
        {"payload_limit", options_.payload_limit}}},
      {"airlock", {{"version", std::string(kVersion)}}}};
  ready->metadata_body = dump_json(metadata);
  ready->manifest_body = dump_json(m.manifest);

  metrics_.set_model_info({{"model", m.served_model_name}, {"profile", m.profile.id}, {"backend", info.backend}});
  metrics_.set_load_seconds(m.load_seconds);
  metrics_.set_startup_seconds(startup_seconds);
  metrics_.set_ready(true);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    phase_ = "ready";
    ready_owner_ = std::move(ready);
    ready_.store(ready_owner_.get(), std::memory_order_release);
  }
}

bool ModelService::authorized(const net::ServerRequest& request) const {
  if (!keys_.enabled()) return true;
  auto header = request.header("Authorization");
  return header && keys_.allows(*header);
}

const ModelService::Ready* ModelService::gate(const net::ServerRequest& request, net::Responder& responder,
                                              bool needs_key) const {
  if (needs_key && !authorized(request)) {
    responder.respond(error_response(unauthorized()));
    return nullptr;
  }
  if (stopping_.load()) {
    responder.respond(error_response(shutting_down()));
    return nullptr;
  }
  const Ready* ready = ready_.load(std::memory_order_acquire);
  if (ready == nullptr) responder.respond(error_response(not_ready(phase())));
  return ready;
}

void ModelService::record(const net::AccessLogEntry& entry) {
  metrics_.record_request(entry.method, entry.path, entry.status, std::chrono::duration<double>(entry.duration).count());
  if (log::enabled(log::Level::kDebug)) log::debug("{}", net::format_access_log(entry));
}

void ModelService::embeddings(net::ServerRequest request, net::Responder responder) {
  const Ready* ready = gate(request, responder, true);
  if (ready == nullptr) return;
  auto parsed = parse_embeddings_request(request.body, limits_);
  if (auto* e = std::get_if<ApiError>(&parsed)) {
    responder.respond(error_response(*e));
    return;
  }
  EmbeddingsRequest& body = std::get<EmbeddingsRequest>(parsed);
  const std::string& served = ready->loaded.served_model_name;
  auto model = check_model(body.model, served);
  if (auto* e = std::get_if<ApiError>(&model)) {
    responder.respond(error_response(*e));
    return;
  }
  const engine::ModelInfo& info = ready->loaded.model->info();
  if (!ready->embedding) {
    responder.respond(error_response(route_not_available(
        fmt::format("`{}` is a reranker ({}): it scores passages at POST /v1/ranking and does not embed", served, info.architecture))));
    return;
  }
  if (body.dimensions && *body.dimensions > info.dimensions) {
    responder.respond(error_response(bad_request(
        fmt::format("'dimensions' must be between 1 and {} for this model (got {})", info.dimensions, *body.dimensions),
        std::string("dimensions"))));
    return;
  }
  EmbedJob job;
  job.tokens = body.tokens;
  job.texts = std::move(body.texts);
  job.token_inputs = std::move(body.token_inputs);
  job.options.truncate = body.truncate;
  job.options.dimensions = body.dimensions;
  // The field wins over the model-name suffix.
  job.options.input_type = body.input_type.value_or(std::get<std::optional<engine::InputType>>(model).value_or(engine::InputType::kNone));
  const EncodingFormat format = body.encoding_format;
  job.done = [responder, format, name = served](Result<engine::Embeddings> result) mutable {
    if (!result.ok()) {
      responder.respond(error_response(from_error(result.error())));
      return;
    }
    auto rendered = render_embeddings(result->values, result->rows, result->dimensions, name, format, result->total_tokens);
    if (!rendered.ok()) {
      responder.respond(error_response(from_error(rendered.error())));
      return;
    }
    responder.respond(net::ServerResponse::json(200, std::move(*rendered)));
  };
  BatchScheduler* scheduler = ready->scheduler.get();
  switch (scheduler->submit(std::move(job), request.cancel)) {
    case Admission::kQueued: responder.on_cancel([scheduler] { scheduler->wake(); }); return;
    case Admission::kOverloaded: responder.respond(error_response(overloaded(options_.max_concurrent_requests))); return;
    case Admission::kStopping: responder.respond(error_response(shutting_down())); return;
  }
}

void ModelService::ranking(net::ServerRequest request, net::Responder responder, bool tei) {
  const Ready* ready = gate(request, responder, true);
  if (ready == nullptr) return;
  auto parsed = tei ? parse_rerank_request(request.body, limits_) : parse_ranking_request(request.body, limits_);
  if (auto* e = std::get_if<ApiError>(&parsed)) {
    responder.respond(error_response(*e));
    return;
  }
  auto body = std::make_shared<RankingRequest>(std::move(std::get<RankingRequest>(parsed)));
  const std::string& served = ready->loaded.served_model_name;
  auto model = check_model(body->model, served);
  if (auto* e = std::get_if<ApiError>(&model)) {
    responder.respond(error_response(*e));
    return;
  }
  if (ready->embedding) {
    responder.respond(error_response(route_not_available(fmt::format(
        "`{}` is an embedding model: it has no relevance head for {}; use POST /v1/embeddings", served, request.path))));
    return;
  }
  RankJob job;
  job.query = body->query;
  job.passages = body->passages;
  job.options.truncate = body->truncate;
  job.done = [responder, body, name = served](Result<engine::Ranking> result) mutable {
    if (!result.ok()) {
      responder.respond(error_response(from_error(result.error())));
      return;
    }
    responder.respond(net::ServerResponse::json(200, render_rankings(*body, result->logits, name, result->total_tokens)));
  };
  BatchScheduler* scheduler = ready->scheduler.get();
  switch (scheduler->submit(std::move(job), request.cancel)) {
    case Admission::kQueued: responder.on_cancel([scheduler] { scheduler->wake(); }); return;
    case Admission::kOverloaded: responder.respond(error_response(overloaded(options_.max_concurrent_requests))); return;
    case Admission::kStopping: responder.respond(error_response(shutting_down())); return;
  }
}

net::ServerResponse ModelService::health_live(const net::ServerRequest&) const {
  return json_response(200, Json{{"object", "health.response"}, {"message", "live"}, {"live", true}});
}

net::ServerResponse ModelService::health_ready(const net::ServerRequest&) const {
  if (stopping_.load()) return error_response(shutting_down());
  if (ready_.load(std::memory_order_acquire) == nullptr) return error_response(not_ready(phase()));
  return json_response(200, Json{{"object", "health.response"}, {"message", "ready"}, {"ready", true}});
}

net::ServerResponse ModelService::models(const net::ServerRequest& request) const {
  if (!authorized(request)) return error_response(unauthorized());
  const Ready* ready = ready_.load(std::memory_order_acquire);
  if (ready == nullptr) return error_response(not_ready(phase()));
  return net::ServerResponse::json(200, ready->models_body);
}

net::ServerResponse ModelService::metadata(const net::ServerRequest& request) const {
  if (!authorized(request)) return error_response(unauthorized());
  const Ready* ready = ready_.load(std::memory_order_acquire);
  if (ready == nullptr) return error_response(not_ready(phase()));
  return net::ServerResponse::json(200, ready->metadata_body);
}

net::ServerResponse ModelService::manifest(const net::ServerRequest& request) const {
  if (!authorized(request)) return error_response(unauthorized());
  const Ready* ready = ready_.load(std::memory_order_acquire);
  if (ready == nullptr) return error_response(not_ready(phase()));
  return net::ServerResponse::json(200, ready->manifest_body);
}

net::ServerResponse ModelService::metrics_text(const net::ServerRequest& request) const {
  if (options_.metrics_require_key && !authorized(request)) return error_response(unauthorized());
  SchedulerGauges gauges;
  if (const Ready* ready = ready_.load(std::memory_order_acquire)) gauges = ready->scheduler->gauges();
  net::HttpServerStats http;
  if (const net::HttpServer* server = server_.load()) http = server->stats();
  return net::ServerResponse::text(200, metrics_.render(gauges, http), "text/plain; version=0.0.4; charset=utf-8");
}

Result<net::Router> ModelService::routes() {
  net::Router router;
  net::RouteOptions post;
  post.max_body_bytes = options_.payload_limit;
  net::RouteOptions fast;
  fast.on_event_loop = true;
  auto sync = [this](net::ServerResponse (ModelService::*method)(const net::ServerRequest&) const) -> net::SyncHandler {
    return [this, method](const net::ServerRequest& request) { return (this->*method)(request); };
  };
  for (const char* path : {"/v1/embeddings", "/embeddings"}) {
    AIRLOCK_TRY(router.add("POST", path,
                           net::Handler([this](net::ServerRequest r, net::Responder s) { embeddings(std::move(r), std::move(s)); }),
                           post));
  }
  AIRLOCK_TRY(router.add(
      "POST", "/v1/ranking",
      net::Handler([this](net::ServerRequest r, net::Responder s) { ranking(std::move(r), std::move(s), false); }), post));
  AIRLOCK_TRY(router.add(
      "POST", "/rerank", net::Handler([this](net::ServerRequest r, net::Responder s) { ranking(std::move(r), std::move(s), true); }),
      post));
  AIRLOCK_TRY(router.add("GET", "/v1/health/live", sync(&ModelService::health_live), fast));
  AIRLOCK_TRY(router.add("GET", "/v1/health/ready", sync(&ModelService::health_ready), fast));
  AIRLOCK_TRY(router.add("GET", "/v1/models", sync(&ModelService::models), fast));
  AIRLOCK_TRY(router.add("GET", "/v1/metadata", sync(&ModelService::metadata), fast));
  AIRLOCK_TRY(router.add("GET", "/v1/manifest", sync(&ModelService::manifest), fast));
  AIRLOCK_TRY(router.add("GET", "/v1/metrics", sync(&ModelService::metrics_text), fast));
  AIRLOCK_TRY(router.add("GET", "/v1/version",
                         net::SyncHandler([](const net::ServerRequest&) {
                           return json_response(200, Json{{"release", std::string(kVersion)}, {"api", "v1"}});
                         }),
                         fast));
  return router;
}

}  // namespace airlock::server
