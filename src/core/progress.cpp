#include "core/progress.h"

#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>

#include "core/units.h"

namespace airlock {

ProgressStyle resolve_progress_style(ProgressStyle style, std::FILE* stream) {
  if (style != ProgressStyle::kAuto) return style;
  return ::isatty(::fileno(stream)) != 0 ? ProgressStyle::kBar : ProgressStyle::kLines;
}

Progress::Progress(std::string label, std::uint64_t total_bytes, std::uint64_t total_items, ProgressOptions options)
    : label_(std::move(label)),
      total_bytes_(total_bytes),
      total_items_(total_items),
      options_(options),
      style_(resolve_progress_style(options.style, options.stream)),
      start_(std::chrono::steady_clock::now()) {
  if (style_ != ProgressStyle::kQuiet) ticker_ = std::thread([this] { run_ticker(); });
}

Progress::~Progress() { finish(); }

std::chrono::duration<double> Progress::elapsed() const { return std::chrono::steady_clock::now() - start_; }

std::string Progress::render_line(bool bar) const {
  std::uint64_t done = bytes();
  std::uint64_t total = total_bytes_.load(std::memory_order_relaxed);
  double seconds = elapsed().count();
  double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  std::string line = label_;
  if (total > 0) {
    double fraction = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
    if (bar) {
      constexpr int kWidth = 28;
      int filled = static_cast<int>(fraction * kWidth);
      line += " [" + std::string(static_cast<std::size_t>(filled), '#') +
              std::string(static_cast<std::size_t>(kWidth - filled), '.') + "]";
    }
    line += fmt::format(" {:3.0f}% {} / {}", fraction * 100, format_bytes(done), format_bytes(total));
  } else {
    line += fmt::format(" {}", format_bytes(done));
  }
  if (total_items_ > 0) line += fmt::format(", {}/{} files", items(), total_items_);
  line += fmt::format(", {}", format_rate(rate));
  if (total > 0 && rate > 0 && done < total) {
    line += fmt::format(", ETA {}", format_duration(std::chrono::duration<double>(static_cast<double>(total - done) / rate)));
  }
  return line;
}

void Progress::draw(bool final_draw) {
  if (style_ == ProgressStyle::kBar) {
    std::string line = render_line(true);
    // \r + clear-to-end keeps the bar on one terminal line.
    std::fprintf(options_.stream, "\r%s\033[K%s", line.c_str(), final_draw ? "\n" : "");
  } else if (style_ == ProgressStyle::kLines) {
    std::fprintf(options_.stream, "%s\n", render_line(false).c_str());
  }
  std::fflush(options_.stream);
}

void Progress::run_ticker() {
  auto interval = style_ == ProgressStyle::kBar ? options_.bar_interval : options_.line_interval;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (wake_.wait_for(lock, interval, [this] { return stopping_; })) break;
    draw(false);
  }
}

void Progress::finish() {
  {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    finished_ = true;
    stopping_ = true;
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  if (style_ != ProgressStyle::kQuiet) draw(true);
}

}  // namespace airlock
