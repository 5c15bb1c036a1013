// The operator's smoke test as a function, shared by `airlock smoke` and `airlock quickstart`:
// readiness, then one request to the model (an embedding of "hello from the air gap", or a
// ranking for a reranker), checked for the shape clients rely on.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/result.h"

namespace airlock::cli {

struct SmokeOptions {
  std::string url;      // http(s)://host:port, with or without a trailing "/v1"
  std::string api_key;  // sent as "Authorization: Bearer <key>" when set
  std::string input = "hello from the air gap";
  std::string ca_bundle;
  bool insecure = false;
  std::chrono::milliseconds timeout{30'000};
};

struct SmokeResult {
  std::string model;
  std::string kind;  // "embedding" or "reranker"
  std::string route;
  std::int64_t vector_length = 0;  // embedding models
  std::int64_t rankings = 0;       // rerankers
  std::int64_t prompt_tokens = 0;
  double milliseconds = 0;
};

// Errors say what failed (connection, not ready, 401, a malformed answer) with the server's message.
Result<SmokeResult> run_smoke(const SmokeOptions& options);

}  // namespace airlock::cli
