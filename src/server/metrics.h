// The runtime's Prometheus metrics (text exposition format 0.0.4), served at GET /v1/metrics:
// requests by route, method and status; request latency histograms by route; the scheduler's
// queue depth and in-flight requests; batch sizes (inputs and tokens per forward batch); tokens
// processed; model load and startup times; HTTP connection counters. Routes are labelled by
// their pattern (a fixed set), never by the raw path, so a scan of random URLs cannot grow them.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_server.h"

namespace airlock::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // "<name>_bucket{<labels>,le=...} n" lines, then _sum and _count.
  void render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // per bucket (not cumulative); the last is +Inf
  double sum_ = 0;
  std::uint64_t count_ = 0;
  mutable std::mutex mutex_;
};

struct SchedulerGauges {
  std::uint64_t queued_requests = 0;
  std::uint64_t running_requests = 0;
  std::uint64_t dropped_requests = 0;  // the client left before its batch ran
  std::uint64_t rejected_requests = 0;  // 429
};

class Metrics {
 public:
  Metrics();

  // From the HTTP server's access-log hook: one finished request.
  void record_request(std::string_view method, std::string_view path, int status, double seconds);
  // One forward batch of the scheduler.
  void record_batch(std::size_t requests, std::size_t inputs, std::int64_t tokens, double seconds);
  void set_load_seconds(double seconds) { load_seconds_.store(seconds); }
  void set_startup_seconds(double seconds) { startup_seconds_.store(seconds); }
  void set_ready(bool ready) { ready_.store(ready); }
  void set_model_info(std::map<std::string, std::string> labels);

  // The route label for a path: the API's routes as they are, anything else "other".
  static std::string_view route_label(std::string_view path);

  std::string render(const SchedulerGauges& scheduler, const net::HttpServerStats& http) const;

 private:
  struct RouteStats {
    std::map<std::pair<std::string, int>, std::uint64_t> by_method_status;
    Histogram latency;
    RouteStats();
  };
  mutable std::mutex mutex_;
  std::map<std::string, RouteStats, std::less<>> routes_;
  Histogram batch_inputs_;
  Histogram batch_tokens_;
  Histogram batch_seconds_;
  std::atomic<std::uint64_t> tokens_{0};
  std::atomic<std::uint64_t> inputs_{0};
  std::atomic<std::uint64_t> batches_{0};
  std::atomic<double> load_seconds_{0};
  std::atomic<double> startup_seconds_{0};
  std::atomic<bool> ready_{false};
  std::map<std::string, std::string> model_info_;
};

}  // namespace airlock::server
