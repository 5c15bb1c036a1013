#include "server/metrics.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/version.h"

namespace airlock::server {
namespace {

constexpr std::string_view kRoutes[] = {"/v1/embeddings", "/v1/ranking",    "/rerank",         "/v1/models",
                                        "/v1/health/live", "/v1/health/ready", "/v1/metadata", "/v1/manifest",
                                        "/v1/metrics",     "/v1/version",     "/embeddings"};

std::vector<double> latency_bounds() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

std::string escape_label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  std::size_t i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  std::lock_guard<std::mutex> lock(mutex_);
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::render(std::string& out, std::string_view name, std::string_view labels) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string sep = labels.empty() ? "" : ",";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, bounds_[i], cumulative);
  }
  cumulative += counts_.back();
  out += fmt::format("{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, cumulative);
  std::string braces = labels.empty() ? "" : fmt::format("{{{}}}", labels);
  out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, braces, sum_, name, braces, count_);
}

Metrics::RouteStats::RouteStats() : latency(latency_bounds()) {}

Metrics::Metrics()
    : batch_inputs_({1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}),
      batch_tokens_({16, 64, 256, 1024, 2048, 4096, 8192, 16384, 32768, 65536}),
      batch_seconds_(latency_bounds()) {}

std::string_view Metrics::route_label(std::string_view path) {
  for (std::string_view route : kRoutes) {
    if (path == route) return route;
  }
  return "other";
}

void Metrics::record_request(std::string_view method, std::string_view path, int status, double seconds) {
  std::string_view route = route_label(path);
  std::string m = (method == "GET" || method == "POST" || method == "HEAD") ? std::string(method) : "other";
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = routes_.find(route);
  if (it == routes_.end()) it = routes_.try_emplace(std::string(route)).first;
  ++it->second.by_method_status[{m, status}];
  it->second.latency.observe(seconds);
}

void Metrics::record_batch(std::size_t requests, std::size_t inputs, std::int64_t tokens, double seconds) {
  (void)requests;
  batch_inputs_.observe(static_cast<double>(inputs));
  batch_tokens_.observe(static_cast<double>(tokens));
  batch_seconds_.observe(seconds);
  tokens_.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(tokens, 0)));
  inputs_.fetch_add(inputs);
  batches_.fetch_add(1);
}

void Metrics::set_model_info(std::map<std::string, std::string> labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  model_info_ = std::move(labels);
}

std::string Metrics::render(const SchedulerGauges& scheduler, const net::HttpServerStats& http) const {
  std::string out;
  out.reserve(8192);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    header(out, "airlock_requests_total", "counter", "HTTP requests answered, by route, method and status.");
    for (const auto& [route, stats] : routes_) {
      for (const auto& [key, count] : stats.by_method_status) {
        out += fmt::format("airlock_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n", route, key.first,
                           key.second, count);
      }
    }
    header(out, "airlock_request_duration_seconds", "histogram",
           "Time from a request's first byte until its answer was handed to the connection, by route.");
    for (const auto& [route, stats] : routes_) {
      stats.latency.render(out, "airlock_request_duration_seconds", fmt::format("route=\"{}\"", route));
    }
    header(out, "airlock_model_info", "gauge", "The served model and profile (always 1).");
    std::string labels = fmt::format("version=\"{}\"", escape_label(kVersion));
    for (const auto& [k, v] : model_info_) labels += fmt::format(",{}=\"{}\"", k, escape_label(v));
    out += fmt::format("airlock_model_info{{{}}} 1\n", labels);
  }
  header(out, "airlock_queue_depth", "gauge", "Requests waiting for a batch.");
  out += fmt::format("airlock_queue_depth {}\n", scheduler.queued_requests);
  header(out, "airlock_requests_running", "gauge", "Requests in a batch being computed.");
  out += fmt::format("airlock_requests_running {}\n", scheduler.running_requests);
  header(out, "airlock_requests_dropped_total", "counter", "Queued requests dropped because their client went away.");
  out += fmt::format("airlock_requests_dropped_total {}\n", scheduler.dropped_requests);
  header(out, "airlock_requests_rejected_total", "counter", "Requests answered 429 because the concurrency limit was reached.");
  out += fmt::format("airlock_requests_rejected_total {}\n", scheduler.rejected_requests);
  header(out, "airlock_batch_inputs", "histogram", "Inputs per forward batch (merged across requests).");
  batch_inputs_.render(out, "airlock_batch_inputs", "");
  header(out, "airlock_batch_tokens", "histogram", "Tokens per forward batch.");
  batch_tokens_.render(out, "airlock_batch_tokens", "");
  header(out, "airlock_batch_duration_seconds", "histogram", "Time to compute one batch (tokenization, forward, pooling).");
  batch_seconds_.render(out, "airlock_batch_duration_seconds", "");
  header(out, "airlock_tokens_total", "counter", "Tokens processed (special tokens included).");
  out += fmt::format("airlock_tokens_total {}\n", tokens_.load());
  header(out, "airlock_inputs_total", "counter", "Inputs (texts, token arrays, passages) processed.");
  out += fmt::format("airlock_inputs_total {}\n", inputs_.load());
  header(out, "airlock_batches_total", "counter", "Forward batches run.");
  out += fmt::format("airlock_batches_total {}\n", batches_.load());
  header(out, "airlock_model_load_seconds", "gauge", "Time to load the model into memory.");
  out += fmt::format("airlock_model_load_seconds {}\n", load_seconds_.load());
  header(out, "airlock_startup_seconds", "gauge", "Time from start until ready (pull, verify, select, load).");
  out += fmt::format("airlock_startup_seconds {}\n", startup_seconds_.load());
  header(out, "airlock_ready", "gauge", "1 when the model is loaded and serving.");
  out += fmt::format("airlock_ready {}\n", ready_.load() ? 1 : 0);
  header(out, "airlock_http_open_connections", "gauge", "Open HTTP connections.");
  out += fmt::format("airlock_http_open_connections {}\n", http.open_connections);
  header(out, "airlock_http_connections_total", "counter", "HTTP connections accepted.");
  out += fmt::format("airlock_http_connections_total {}\n", http.accepted_connections);
  header(out, "airlock_http_connections_rejected_total", "counter", "HTTP connections refused over the connection cap.");
  out += fmt::format("airlock_http_connections_rejected_total {}\n", http.rejected_connections);
  return out;
}

}  // namespace airlock::server
