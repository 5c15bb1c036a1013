#include "core/thread_pool.h"

#include <atomic>
#include <latch>

namespace airlock {

ThreadPool::ThreadPool(std::size_t threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  workers_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::enqueue(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(task));
  }
  ready_.notify_one();
}

void ThreadPool::work() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

void ThreadPool::parallel_for(std::size_t count, const std::function<void(std::size_t)>& body) {
  if (count == 0) return;
  // Claim indexes from a shared counter so uneven work balances itself.
  std::atomic<std::size_t> next{0};
  std::size_t runners = std::min(count, workers_.size());
  std::latch done(static_cast<std::ptrdiff_t>(runners));
  for (std::size_t r = 0; r < runners; ++r) {
    enqueue([&] {
      for (std::size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) body(i);
      done.count_down();
    });
  }
  done.wait();
}

}  // namespace airlock
