// Progress of long work: a bar with rate and ETA on a terminal, a plain line every few seconds
// otherwise, nothing when quiet. Thread-safe: workers call add() as bytes move.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

namespace airlock {

enum class ProgressStyle {
  kAuto,   // bar when the stream is a terminal, lines otherwise
  kBar,
  kLines,
  kQuiet,
};

struct ProgressOptions {
  ProgressStyle style = ProgressStyle::kAuto;
  std::FILE* stream = stderr;
  std::chrono::milliseconds bar_interval{200};
  std::chrono::milliseconds line_interval{5000};
};

class Progress {
 public:
  // `total_bytes` may be 0 when unknown (no percentage or ETA is shown then).
  Progress(std::string label, std::uint64_t total_bytes, std::uint64_t total_items, ProgressOptions options = {});
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void add_bytes(std::uint64_t bytes) { bytes_.fetch_add(bytes, std::memory_order_relaxed); }
  void add_items(std::uint64_t items) { items_.fetch_add(items, std::memory_order_relaxed); }
  void add_total_bytes(std::uint64_t bytes) { total_bytes_.fetch_add(bytes, std::memory_order_relaxed); }

  std::uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  std::uint64_t items() const { return items_.load(std::memory_order_relaxed); }
  std::chrono::duration<double> elapsed() const;

  // Stops the ticker and prints the final state once (bar completed, or a last line).
  void finish();

  // The text of one status line, without terminal control characters (tests read it).
  std::string render_line(bool bar) const;

 private:
  void run_ticker();
  void draw(bool final_draw);

  std::string label_;
  std::atomic<std::uint64_t> total_bytes_;
  std::uint64_t total_items_;
  ProgressOptions options_;
  ProgressStyle style_;
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::uint64_t> items_{0};
  std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool finished_ = false;
  std::thread ticker_;
};

// Resolves kAuto against the stream: kBar on a TTY, kLines otherwise.
ProgressStyle resolve_progress_style(ProgressStyle style, std::FILE* stream);

}  // namespace airlock
