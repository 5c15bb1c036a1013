#include "server/serve_runtime.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "core/log.h"
#include "core/strings.h"
#include "net/http_server.h"
#include "server/api_error.h"
#include "server/model_service.h"
#include "server/model_startup.h"

namespace airlock::server {
namespace {

using Clock = std::chrono::steady_clock;

void log_lines(const std::string& text) {
  for (std::string_view line : split(text, '\n')) {
    if (!trim(line).empty()) log::info("{}", line);
  }
}

}  // namespace

Status run_serve(const ServeOptions& options) {
  const auto started = Clock::now();
  if (std::string warning = ngc_key_warning(); !warning.empty()) log::warn("{}", warning);
  if (!options.environment_used.empty()) {
    log::info("Settings from the environment: {}", fmt::join(options.environment_used, ", "));
  }
  log::info("API keys: {}", options.api_keys.empty()
                                ? std::string("none (every client is allowed; set AIRLOCK_API_KEYS or --api-key-file)")
                                : fmt::format("{} from {}", options.api_keys.size(), fmt::join(options.api_key_sources, ", ")));

  // Installed before any thread starts, so that a signal during startup is not lost.
  net::TerminationSignal signal;
  ModelService service(options);
  AIRLOCK_ASSIGN_OR_RETURN(net::Router router, service.routes());
  net::HttpServerOptions http;
  http.host = options.host;
  http.port = options.port;
  http.tls = options.tls;
  http.max_connections = options.max_connections;
  http.max_body_bytes = options.payload_limit;
  http.error_response = http_error_response;
  http.access_log = [&service](const net::AccessLogEntry& entry) { service.record(entry); };
  auto server = net::HttpServer::start(http, std::move(router));
  if (!server.ok()) return server.error().with_context(fmt::format("listening on {} port {}", options.host, options.port));
  service.attach(server->get());
  log::info("Listening on {} (probes: /v1/health/live, /v1/health/ready; API: /v1/embeddings, /v1/ranking, /v1/models)",
            (*server)->url());

  auto cancel = std::make_shared<std::atomic<bool>>(false);
  enum State { kLoading, kReady, kFailed };
  std::atomic<int> state{kLoading};
  std::optional<Error> failure;
  std::thread loader([&] {
    auto loaded = start_model(options, [&](std::string_view phase) { service.set_phase(phase); }, cancel);
    if (!loaded.ok()) {
      failure = loaded.error();
      service.set_failed(loaded.error().message());
      state.store(kFailed);
      return;
    }
    const std::string summary = render_startup_summary(*loaded);
    const double startup = std::chrono::duration<double>(Clock::now() - started).count();
    service.set_ready(std::move(*loaded), startup);
    log_lines(summary);
    log::info("Ready in {:.2f}s: POST {}/v1/embeddings", startup, (*server)->url());
    state.store(kReady);
  });

  std::optional<int> received;
  while (!(received = signal.wait_for(std::chrono::milliseconds(100)))) {
    if (state.load() == kFailed) break;
  }
  if (received) {
    log::info("Signal {} received: stopping (readiness now 503; finishing requests in flight, up to {:.0f}s)", *received,
              std::chrono::duration<double>(options.shutdown_timeout).count());
    cancel->store(true);
  }
  service.set_stopping();
  loader.join();
  const bool drained = (*server)->shutdown(received ? options.shutdown_timeout : std::chrono::milliseconds(1000));
  service.stop_scheduler();
  service.attach(nullptr);
  if (state.load() == kFailed && failure) {
    if (received && failure->code() == ErrorCode::kCancelled) return ok_status();
    return failure->with_context("airlock serve could not start");
  }
  if (!drained) log::warn("some requests were still running at the shutdown deadline and were cut off");
  log::info("Stopped");
  return ok_status();
}

}  // namespace airlock::server
