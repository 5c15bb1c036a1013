// `airlock rank --model DIR --query Q passage...`: cross-encoder relevance from a local snapshot.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <numeric>

#include "cli/command.h"
#include "cli/engine_options.h"
#include "core/json.h"

namespace airlock::cli {
namespace {

struct RankCommandOptions {
  EngineOptions engine;
  std::string query;
  std::vector<std::string> passages;
  bool json = false;
};

std::string preview(const std::string& text) {
  std::string one_line;
  for (char c : text) one_line.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
  if (one_line.size() <= 70) return one_line;
  std::size_t cut = 67;
  while (cut > 0 && (static_cast<unsigned char>(one_line[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return one_line.substr(0, cut) + "...";
}

Status run_rank(const RankCommandOptions& options) {
  if (options.passages.empty()) return invalid_argument("no passages to rank");
  engine::RankOptions rank;
  AIRLOCK_ASSIGN_OR_RETURN(rank.truncate, options.engine.truncation());
  AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<engine::Model> model, options.engine.load());
  AIRLOCK_ASSIGN_OR_RETURN(engine::Ranking result, model->rank(options.query, options.passages, rank));
  std::vector<std::size_t> order(result.logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return result.logits[a] > result.logits[b]; });
  std::string out;
  if (options.json) {
    // NIM's /v1/ranking response: raw logits, best first.
    Json rankings = Json::array();
    for (std::size_t i : order) rankings.push_back({{"index", i}, {"logit", result.logits[i]}});
    out = dump_json(Json{{"rankings", rankings}, {"usage", {{"prompt_tokens", result.total_tokens}, {"total_tokens", result.total_tokens}}}}) + "\n";
  } else {
    out = fmt::format("{:>4}  {:>5}  {:>10}  {}\n", "rank", "index", "logit", "passage");
    for (std::size_t r = 0; r < order.size(); ++r) {
      std::size_t i = order[r];
      out += fmt::format("{:>4}  {:>5}  {:>10.5f}  {}\n", r + 1, i, result.logits[i], preview(options.passages[i]));
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return ok_status();
}

}  // namespace

void add_rank_command(CLI::App& app, CommandContext context) {
  auto options = std::make_shared<RankCommandOptions>();
  CLI::App* command = app.add_subcommand("rank", "Rank passages against a query with a local cross-encoder (reranker)");
  options->engine.add_to(*command);
  command->add_option("-q,--query", options->query, "The query")->required();
  command->add_option("passages", options->passages, "Passages to rank")->required();
  command->add_flag("--json", options->json, "Print a NIM-style ranking response");
  command->callback([options, context] { context.action = [options] { return run_rank(*options); }; });
}

AIRLOCK_REGISTER_COMMAND(61, add_rank_command);

}  // namespace airlock::cli
