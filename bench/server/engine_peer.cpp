// The peer of bench/server/serve_bench.py: the engine's raw throughput on the inputs the server
// is loaded with, without HTTP, JSON or scheduling. Loads the model once, then embeds batches of
// B copies of the text for at least S seconds and prints {"batch", "sequences_per_s", "tokens"}.
//   serve_engine_peer --model DIR --text TEXT --batch B [--seconds S] [--threads N]
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/model.h"

int main(int argc, char** argv) {
  std::string model_dir, text;
  int batch = 1, threads = 0;
  double seconds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--model") model_dir = argv[i + 1];
    else if (flag == "--text") text = argv[i + 1];
    else if (flag == "--batch") batch = std::atoi(argv[i + 1]);
    else if (flag == "--seconds") seconds = std::atof(argv[i + 1]);
    else if (flag == "--threads") threads = std::atoi(argv[i + 1]);
  }
  if (model_dir.empty() || text.empty() || batch < 1) {
    std::fprintf(stderr, "usage: serve_engine_peer --model DIR --text TEXT --batch B [--seconds S] [--threads N]\n");
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
  std::size_t sequences = 0;
  double elapsed = 0;
  while (elapsed < seconds) {
    auto result = (*model)->embed(inputs);
    if (!result.ok()) return 1;
    sequences += inputs.size();
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  std::printf("%s\n", fmt::format(R"({{"batch": {}, "sequences_per_s": {:.2f}, "tokens": {}}})", batch, sequences / elapsed,
                                  first->total_tokens / batch)
                          .c_str());
  return 0;
}
