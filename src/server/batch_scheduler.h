// The batching scheduler: requests from many connections are merged into batches for the model
// under a token budget, so that the forward passes run with many sequences at once (the engine
// is several times faster per input that way) while each request still gets its own answer.
//
// Admission is immediate: beyond `max_concurrent_requests` (queued + running) a request is
// refused at once (the HTTP layer answers 429), never parked in an unbounded line. Batches are
// cut when an executor is free ("continuous" batching, no time window): the oldest request
// first, then compatible requests (same route and options) of the same length bucket, then of
// the nearest buckets, while the estimated tokens fit `max_batch_tokens` and the count fits
// `max_batch_requests`. Requests whose client went away are dropped at cut time and before a
// refusal, so they hold neither a slot nor compute. Several executors prepare batches at once,
// so that tokenization and answer encoding overlap the forward pass of another batch.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "engine/model.h"
#include "server/metrics.h"
#include "server/token_inputs.h"

namespace airlock::server {

struct SchedulerOptions {
  std::size_t max_batch_tokens = 16384;
  std::size_t max_batch_requests = 0;  // 0: no cap but the tokens
  std::size_t max_concurrent_requests = 512;
  int executors = 2;
};

using CancelFlag = std::shared_ptr<const std::atomic<bool>>;

struct EmbedJob {
  std::vector<std::string> texts;
  std::vector<std::vector<std::int32_t>> token_inputs;
  bool tokens = false;
  engine::EmbedOptions options;
  // Called once, on an executor thread, unless the client went away first.
  std::function<void(Result<engine::Embeddings>)> done;
};

struct RankJob {
  std::string query;
  std::vector<std::string> passages;
  engine::RankOptions options;
  std::function<void(Result<engine::Ranking>)> done;
};

enum class Admission { kQueued, kOverloaded, kStopping };

class BatchScheduler {
 public:
  // `model` (and `tokens`, which may be null: then token inputs are refused) outlive the
  // scheduler. `on_batch` (optional) sees every batch run: requests, inputs, tokens, seconds.
  BatchScheduler(const engine::Model& model, const TokenEmbedder* tokens, SchedulerOptions options,
                 std::function<void(std::size_t, std::size_t, std::int64_t, double)> on_batch = {});
  ~BatchScheduler();  // stop()
  BatchScheduler(const BatchScheduler&) = delete;
  BatchScheduler& operator=(const BatchScheduler&) = delete;

  Admission submit(EmbedJob job, CancelFlag cancel);
  Admission submit(RankJob job, CancelFlag cancel);
  // Wakes an executor to drop requests whose client left (safe from any thread, never blocks
  // for long: the HTTP layer calls it from its event loop).
  void wake();
  // Refuses new work, finishes everything queued and running, joins the executors. Idempotent.
  void stop();

  SchedulerGauges gauges() const;

  // The scheduler's token estimate for a text: an upper-bound-leaning guess from its length
  // (about four bytes per token for English, plus the special tokens), capped at the model's
  // limit. Exact counts would cost a second tokenization.
  static std::size_t estimate_tokens(std::size_t bytes, std::size_t max_tokens);

 private:
  struct Job;
  Admission enqueue(std::shared_ptr<Job> job);
  void run_executor();
  std::vector<std::shared_ptr<Job>> cut_batch();  // with mutex_ held
  void drop_cancelled();                          // with mutex_ held
  void execute(std::vector<std::shared_ptr<Job>>& batch);
  void execute_texts(std::vector<std::shared_ptr<Job>>& batch);

  const engine::Model& model_;
  const TokenEmbedder* tokens_;
  SchedulerOptions options_;
  std::function<void(std::size_t, std::size_t, std::int64_t, double)> on_batch_;

  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::size_t running_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t rejected_ = 0;
  std::uint64_t sequence_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> executors_;
};

}  // namespace airlock::server
