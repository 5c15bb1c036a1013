#include "server/metrics.h"

#include <gtest/gtest.h>

namespace airlock::server {
namespace {

TEST(Metrics, RendersPrometheusText) {
  Metrics metrics;
  metrics.record_request("POST", "/v1/embeddings", 200, 0.004);
  metrics.record_request("POST", "/v1/embeddings", 429, 0.0001);
  metrics.record_request("GET", "/random/../path", 404, 0.0001);
  metrics.record_batch(3, 5, 40, 0.01);
  metrics.set_ready(true);
  std::string text = metrics.render({2, 1, 0, 1}, {});
  EXPECT_NE(text.find("airlock_requests_total{route=\"/v1/embeddings\",method=\"POST\",status=\"200\"} 1"), std::string::npos);
  EXPECT_NE(text.find("airlock_requests_total{route=\"/v1/embeddings\",method=\"POST\",status=\"429\"} 1"), std::string::npos);
  EXPECT_NE(text.find("route=\"other\""), std::string::npos);
  EXPECT_EQ(text.find("/random"), std::string::npos);
  EXPECT_NE(text.find("airlock_request_duration_seconds_bucket{route=\"/v1/embeddings\",le=\"0.005\"} 2"), std::string::npos);
  EXPECT_NE(text.find("airlock_queue_depth 2"), std::string::npos);
  EXPECT_NE(text.find("airlock_tokens_total 40"), std::string::npos);
  EXPECT_NE(text.find("airlock_batch_inputs_count 1"), std::string::npos);
  EXPECT_NE(text.find("airlock_ready 1"), std::string::npos);
  EXPECT_NE(text.find("# TYPE airlock_request_duration_seconds histogram"), std::string::npos);
}

}  // namespace
}  // namespace airlock::server
