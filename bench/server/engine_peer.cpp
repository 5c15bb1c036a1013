// The peer of bench/server/serve_bench.py: the engine's raw throughput on the inputs the server
// is loaded with, without HTTP, JSON or scheduling. Loads the model once, then C callers (as the
// server's C executors do: tokenization overlaps another caller's forward pass) embed batches of
// B copies of the text for at least S seconds; prints {"batch", "callers", "sequences_per_s", "tokens"}.
//   serve_engine_peer --model DIR --text TEXT --batch B [--callers C] [--seconds S] [--threads N]
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "engine/model.h"

int main(int argc, char** argv) {
  std::string model_dir, text;
  int batch = 1, threads = 0, callers = 1;
  double seconds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--model") model_dir = argv[i + 1];
    else if (flag == "--text") text = argv[i + 1];
    else if (flag == "--batch") batch = std::atoi(argv[i + 1]);
    else if (flag == "--seconds") seconds = std::atof(argv[i + 1]);
    else if (flag == "--threads") threads = std::atoi(argv[i + 1]);
    else if (flag == "--callers") callers = std::atoi(argv[i + 1]);
  }
  if (model_dir.empty() || text.empty() || batch < 1 || callers < 1) {
    std::fprintf(stderr, "usage: serve_engine_peer --model DIR --text TEXT --batch B [--callers C] [--seconds S] [--threads N]\n");
    return 2;
  }
  auto dir = airlock::engine::resolve_model_dir(model_dir);
  if (!dir.ok()) {
    std::fprintf(stderr, "%s\n", dir.error().message().c_str());
    return 1;
  }
  airlock::engine::LoadOptions options;
  options.backend.threads = threads;
  options.max_batch_tokens = 16384;
  auto model = airlock::engine::Model::load(*dir, options);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.error().message().c_str());
    return 1;
  }
  const std::vector<std::string> inputs(static_cast<std::size_t>(batch), text);
  auto first = (*model)->embed(inputs);  // warm-up: primitives and scratch memory
  if (!first.ok()) {
    std::fprintf(stderr, "%s\n", first.error().message().c_str());
    return 1;
  }
  const auto start = std::chrono::steady_clock::now();
  std::atomic<std::size_t> sequences{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> workers;
  for (int c = 0; c < callers; ++c) {
    workers.emplace_back([&] {
      while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds) {
        if (!(*model)->embed(inputs).ok()) {
          failed = true;
          return;
        }
        sequences += inputs.size();
      }
    });
  }
  for (std::thread& w : workers) w.join();
  if (failed) return 1;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s\n", fmt::format(R"({{"batch": {}, "callers": {}, "sequences_per_s": {:.2f}, "tokens": {}}})", batch, callers,
                                  static_cast<double>(sequences.load()) / elapsed, first->total_tokens / batch)
                          .c_str());
  return 0;
}
