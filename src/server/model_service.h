// The model API as HTTP routes: OpenAI's and NIM's embeddings, NIM's ranking, TEI's /rerank, the
// model list, health, metadata, manifest and Prometheus metrics. The service exists before the
// model does: the routes answer from the first second (health/live 200, health/ready and the
// model routes 503 with the startup phase) so that probes and clients see a starting server,
// not a refused connection; set_ready() hands the loaded model over and starts the batching
// scheduler.
//
// Every model route checks, in order: the API key (401), readiness (503), the body (400, 413),
// the model name (404), admission (429), then the model's verdict (422 for an over-long input
// with truncate NONE, 400 for other bad input).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/json.h"
#include "core/result.h"
#include "net/http_router.h"
#include "net/http_server.h"
#include "server/api_keys.h"
#include "server/api_requests.h"
#include "server/batch_scheduler.h"
#include "server/metrics.h"
#include "server/model_startup.h"
#include "server/serve_options.h"

namespace airlock::server {

class ModelService {
 public:
  explicit ModelService(const ServeOptions& options);
  ~ModelService();  // stops the scheduler
  ModelService(const ModelService&) = delete;
  ModelService& operator=(const ModelService&) = delete;

  // The routes; they refer to this service, which must outlive the HTTP server.
  Result<net::Router> routes();
  // HttpServerOptions::access_log: request metrics (and a debug log line).
  void record(const net::AccessLogEntry& entry);
  // For the connection gauges of /v1/metrics; null detaches.
  void attach(const net::HttpServer* server) { server_.store(server); }

  // What health/ready says while starting: "starting", "pulling", "loading", ...
  void set_phase(std::string_view phase);
  // Startup failed: health/ready says why until the process exits.
  void set_failed(std::string_view message);
  // The model is loaded: the scheduler starts and the model routes answer.
  void set_ready(LoadedModel loaded, double startup_seconds);
  // Shutdown began: health/ready and new model requests get 503; queued work still finishes.
  void set_stopping();
  // Finishes queued and running batches and stops the scheduler (after the HTTP server drained).
  void stop_scheduler();

  bool ready() const { return ready_.load(std::memory_order_acquire) != nullptr; }
  Metrics& metrics() { return metrics_; }

 private:
  struct Ready;
  const Ready* gate(const net::ServerRequest& request, net::Responder& responder, bool needs_key) const;
  bool authorized(const net::ServerRequest& request) const;
  std::string phase() const;

  void embeddings(net::ServerRequest request, net::Responder responder);
  void ranking(net::ServerRequest request, net::Responder responder, bool tei);
  net::ServerResponse health_live(const net::ServerRequest& request) const;
  net::ServerResponse health_ready(const net::ServerRequest& request) const;
  net::ServerResponse models(const net::ServerRequest& request) const;
  net::ServerResponse metadata(const net::ServerRequest& request) const;
  net::ServerResponse manifest(const net::ServerRequest& request) const;
  net::ServerResponse metrics_text(const net::ServerRequest& request) const;

  ServeOptions options_;
  ApiKeys keys_;
  RequestLimits limits_;
  Metrics metrics_;
  std::atomic<const net::HttpServer*> server_{nullptr};

  mutable std::mutex mutex_;
  std::string phase_ = "starting";
  bool failed_ = false;
  std::atomic<bool> stopping_{false};
  // Published once by set_ready (release), read by every request (acquire); owned by ready_owner_.
  std::unique_ptr<Ready> ready_owner_;
  std::atomic<const Ready*> ready_{nullptr};
};

}  // namespace airlock::server
