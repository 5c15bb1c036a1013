#include "server/batch_scheduler.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>

#include "core/log.h"

namespace airlock::server {
namespace {

using Clock = std::chrono::steady_clock;

int bucket_of(std::size_t tokens) { return static_cast<int>(std::bit_width(std::max<std::size_t>(tokens, 1))); }

}  // namespace

struct BatchScheduler::Job {
  enum class Kind { kTexts, kTokens, kRank };
  Kind kind = Kind::kTexts;
  EmbedJob embed;
  RankJob rank;
  std::string key;  // jobs with equal keys may share a batch (texts only)
  bool slot_released = false;
  std::size_t cost = 0;
  int bucket = 0;
  std::uint64_t sequence = 0;
  CancelFlag cancel;
  bool cancelled() const { return cancel && cancel->load(std::memory_order_acquire); }
  std::size_t inputs() const {
    switch (kind) {
      case Kind::kTexts: return embed.texts.size();
      case Kind::kTokens: return embed.token_inputs.size();
      case Kind::kRank: return rank.passages.size();
    }
    return 0;
  }
};

std::size_t BatchScheduler::estimate_tokens(std::size_t bytes, std::size_t max_tokens) {
  return std::min(max_tokens, bytes / 4 + 3);
}

BatchScheduler::BatchScheduler(const engine::Model& model, const TokenEmbedder* tokens, SchedulerOptions options,
                               std::function<void(std::size_t, std::size_t, std::int64_t, double)> on_batch)
    : model_(model), tokens_(tokens), options_(options), on_batch_(std::move(on_batch)) {
  int executors = std::max(1, options_.executors);
  for (int i = 0; i < executors; ++i) executors_.emplace_back([this] { run_executor(); });
}

BatchScheduler::~BatchScheduler() { stop(); }

Admission BatchScheduler::submit(EmbedJob job, CancelFlag cancel) {
  auto j = std::make_shared<Job>();
  const auto max_tokens = static_cast<std::size_t>(std::max<std::int64_t>(model_.info().max_tokens, 1));
  if (job.tokens) {
    j->kind = Job::Kind::kTokens;
    for (const auto& ids : job.token_inputs) j->cost += std::min(ids.size(), max_tokens);
  } else {
    j->kind = Job::Kind::kTexts;
    for (const std::string& text : job.texts) j->cost += estimate_tokens(text.size(), max_tokens);
    j->key = fmt::format("{}|{}|{}", engine::input_type_name(job.options.input_type), static_cast<int>(job.options.truncate),
                         job.options.dimensions.value_or(0));
  }
  j->bucket = bucket_of(j->inputs() ? j->cost / j->inputs() : 0);
  j->embed = std::move(job);
  j->cancel = std::move(cancel);
  return enqueue(std::move(j));
}

Admission BatchScheduler::submit(RankJob job, CancelFlag cancel) {
  auto j = std::make_shared<Job>();
  j->kind = Job::Kind::kRank;
  const auto max_tokens = static_cast<std::size_t>(std::max<std::int64_t>(model_.info().max_tokens, 1));
  for (const std::string& passage : job.passages) j->cost += estimate_tokens(job.query.size() + passage.size(), max_tokens);
  j->bucket = bucket_of(j->inputs() ? j->cost / j->inputs() : 0);
  j->rank = std::move(job);
  j->cancel = std::move(cancel);
  return enqueue(std::move(j));
}

Admission BatchScheduler::enqueue(std::shared_ptr<Job> job) {
  std::vector<std::shared_ptr<Job>> released;  // destroyed outside the lock
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return Admission::kStopping;
    if (queue_.size() + running_ >= options_.max_concurrent_requests) {
      // Clients that left still count until dropped: drop them before refusing anyone.
      for (auto& queued : queue_) {
        if (queued->cancelled()) released.push_back(queued);
      }
      drop_cancelled();
      if (queue_.size() + running_ >= options_.max_concurrent_requests) {
        ++rejected_;
        return Admission::kOverloaded;
      }
    }
    job->sequence = ++sequence_;
    queue_.push_back(std::move(job));
  }
  ready_.notify_one();
  return Admission::kQueued;
}

void BatchScheduler::wake() { ready_.notify_one(); }

void BatchScheduler::drop_cancelled() {
  auto before = queue_.size();
  queue_.erase(std::remove_if(queue_.begin(), queue_.end(), [](const auto& job) { return job->cancelled(); }), queue_.end());
  dropped_ += before - queue_.size();
}

void BatchScheduler::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && executors_.empty()) return;
    stopping_ = true;
  }
  ready_.notify_all();
  for (std::thread& t : executors_) {
    if (t.joinable()) t.join();
  }
  executors_.clear();
}

SchedulerGauges BatchScheduler::gauges() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {queue_.size(), running_, dropped_, rejected_};
}

std::vector<std::shared_ptr<BatchScheduler::Job>> BatchScheduler::cut_batch() {
  std::vector<std::shared_ptr<Job>> batch;
  if (queue_.empty()) return batch;
  std::shared_ptr<Job> head = queue_.front();
  batch.push_back(head);
  if (head->kind == Job::Kind::kTexts) {
    std::size_t tokens = head->cost;
    // Candidates of the same kind and options, nearest length bucket first, oldest first.
    std::vector<std::size_t> candidates;
    for (std::size_t i = 1; i < queue_.size(); ++i) {
      if (queue_[i]->kind == Job::Kind::kTexts && queue_[i]->key == head->key) candidates.push_back(i);
    }
    std::stable_sort(candidates.begin(), candidates.end(), [&](std::size_t a, std::size_t b) {
      return std::abs(queue_[a]->bucket - head->bucket) < std::abs(queue_[b]->bucket - head->bucket);
    });
    for (std::size_t i : candidates) {
      if (options_.max_batch_requests != 0 && batch.size() >= options_.max_batch_requests) break;
      if (tokens + queue_[i]->cost > options_.max_batch_tokens) continue;
      tokens += queue_[i]->cost;
      batch.push_back(queue_[i]);
    }
  }
  // Remove the chosen jobs from the queue, keeping the others' order.
  std::sort(batch.begin() + 1, batch.end(), [](const auto& a, const auto& b) { return a->sequence < b->sequence; });
  queue_.erase(std::remove_if(queue_.begin(), queue_.end(),
                              [&](const auto& job) { return std::find(batch.begin(), batch.end(), job) != batch.end(); }),
               queue_.end());
  return batch;
}

void BatchScheduler::run_executor() {
  while (true) {
    std::vector<std::shared_ptr<Job>> batch;
    std::vector<std::shared_ptr<Job>> released;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      for (auto& queued : queue_) {
        if (queued->cancelled()) released.push_back(queued);
      }
      drop_cancelled();
      if (queue_.empty()) {
        if (stopping_) return;
        continue;
      }
      batch = cut_batch();
      running_ += batch.size();
    }
    released.clear();
    // Another executor may take the next batch while this one computes.
    ready_.notify_one();
    // Each request's slot is given back just before its answer goes out, so that a client that
    // sends its next request as soon as it has an answer never finds its own slot still taken.
    for (auto& job : batch) {
      Job* raw = job.get();
      auto release = [this, raw] {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!raw->slot_released) {
          raw->slot_released = true;
          --running_;
        }
      };
      if (job->kind == Job::Kind::kRank) {
        job->rank.done = [release, done = std::move(job->rank.done)](Result<engine::Ranking> r) mutable {
          release();
          done(std::move(r));
        };
      } else {
        job->embed.done = [release, done = std::move(job->embed.done)](Result<engine::Embeddings> r) mutable {
          release();
          done(std::move(r));
        };
      }
    }
    execute(batch);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& job : batch) {
        if (!job->slot_released) {
          job->slot_released = true;
          --running_;
        }
      }
    }
    batch.clear();
  }
}

void BatchScheduler::execute(std::vector<std::shared_ptr<Job>>& batch) {
  const auto start = Clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  Job& head = *batch.front();
  switch (head.kind) {
    case Job::Kind::kTexts: execute_texts(batch); return;
    case Job::Kind::kTokens: {
      Result<engine::Embeddings> result =
          tokens_ != nullptr ? tokens_->embed(head.embed.token_inputs, head.embed.options)
                             : Result<engine::Embeddings>(invalid_argument("token inputs are not supported by this model"));
      if (result.ok() && on_batch_) on_batch_(1, head.inputs(), result->total_tokens, seconds());
      head.embed.done(std::move(result));
      return;
    }
    case Job::Kind::kRank: {
      Result<engine::Ranking> result = model_.rank(head.rank.query, head.rank.passages, head.rank.options);
      if (result.ok() && on_batch_) on_batch_(1, head.inputs(), result->total_tokens, seconds());
      head.rank.done(std::move(result));
      return;
    }
  }
}

void BatchScheduler::execute_texts(std::vector<std::shared_ptr<Job>>& batch) {
  const auto start = Clock::now();
  // The batch's texts in one list; each job owns a range of it.
  std::vector<std::string> texts;
  std::vector<std::size_t> offsets{0};
  for (const auto& job : batch) {
    for (std::string& text : job->embed.texts) texts.push_back(std::move(text));
    offsets.push_back(texts.size());
  }
  Result<engine::Embeddings> result = model_.embed(texts, batch.front()->embed.options);
  if (!result.ok() && batch.size() > 1 && result.error().code() == ErrorCode::kInvalidArgument) {
    // One request's input (an over-long text with truncate NONE) fails the whole call: run the
    // requests one by one so that only that request gets the error.
    for (std::size_t k = 0; k < batch.size(); ++k) {
      std::vector<std::string> own(std::make_move_iterator(texts.begin() + static_cast<std::ptrdiff_t>(offsets[k])),
                                   std::make_move_iterator(texts.begin() + static_cast<std::ptrdiff_t>(offsets[k + 1])));
      Result<engine::Embeddings> single = model_.embed(own, batch[k]->embed.options);
      batch[k]->embed.done(std::move(single));
    }
    return;
  }
  if (!result.ok()) {
    for (auto& job : batch) job->embed.done(result.error());
    return;
  }
  const engine::Embeddings& all = *result;
  if (on_batch_) {
    on_batch_(batch.size(), texts.size(), all.total_tokens, std::chrono::duration<double>(Clock::now() - start).count());
  }
  if (batch.size() == 1) {
    batch.front()->embed.done(std::move(result));
    return;
  }
  for (std::size_t k = 0; k < batch.size(); ++k) {
    engine::Embeddings part;
    part.rows = static_cast<std::int64_t>(offsets[k + 1] - offsets[k]);
    part.dimensions = all.dimensions;
    auto dims = static_cast<std::size_t>(all.dimensions);
    part.values.assign(all.values.begin() + static_cast<std::ptrdiff_t>(offsets[k] * dims),
                       all.values.begin() + static_cast<std::ptrdiff_t>(offsets[k + 1] * dims));
    part.token_counts.assign(all.token_counts.begin() + static_cast<std::ptrdiff_t>(offsets[k]),
                             all.token_counts.begin() + static_cast<std::ptrdiff_t>(offsets[k + 1]));
    for (std::int64_t c : part.token_counts) part.total_tokens += c;
    batch[k]->embed.done(std::move(part));
  }
}

}  // namespace airlock::server
