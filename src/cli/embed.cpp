// `airlock embed --model DIR "some text" ...`: embedding vectors from a local snapshot.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>

#include "cli/command.h"
#include "cli/engine_options.h"
#include "core/json.h"

namespace airlock::cli {
namespace {

struct EmbedCommandOptions {
  EngineOptions engine;
  std::vector<std::string> texts;
  std::string file;
  std::string input_type;
  std::int64_t dimensions = 0;
  bool json = false;
};

Status run_embed(const EmbedCommandOptions& options) {
  std::vector<std::string> texts = options.texts;
  if (!options.file.empty()) {
    std::ifstream in(options.file);
    if (!in) return not_found(fmt::format("cannot read {}", options.file));
    for (std::string line; std::getline(in, line);) texts.push_back(line);
  }
  if (texts.empty()) return invalid_argument("nothing to embed: give texts as arguments or --file");
  engine::EmbedOptions embed;
  if (options.input_type == "query") {
    embed.input_type = engine::InputType::kQuery;
  } else if (options.input_type == "passage") {
    embed.input_type = engine::InputType::kPassage;
  } else if (!options.input_type.empty()) {
    return invalid_argument(fmt::format("--input-type must be query or passage (got \"{}\")", options.input_type));
  }
  if (options.dimensions < 0) return invalid_argument("--dimensions must be positive");
  if (options.dimensions > 0) embed.dimensions = options.dimensions;
  AIRLOCK_ASSIGN_OR_RETURN(embed.truncate, options.engine.truncation());
  AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<engine::Model> model, options.engine.load());
  AIRLOCK_ASSIGN_OR_RETURN(engine::Embeddings result, model->embed(texts, embed));
  std::string out;
  if (options.json) {
    // The OpenAI embeddings response.
    Json data = Json::array();
    for (std::int64_t i = 0; i < result.rows; ++i) {
      auto row = result.row(i);
      data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", std::vector<float>(row.begin(), row.end())}});
    }
    Json response = {{"object", "list"},
                     {"data", data},
                     {"model", options.engine.model},
                     {"usage", {{"prompt_tokens", result.total_tokens}, {"total_tokens", result.total_tokens}}}};
    out = dump_json(response) + "\n";
  } else {
    // One vector per line, in input order.
    for (std::int64_t i = 0; i < result.rows; ++i) {
      auto row = result.row(i);
      out += fmt::format("{}\n", fmt::join(row, " "));
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return ok_status();
}

}  // namespace

void add_embed_command(CLI::App& app, CommandContext context) {
  auto options = std::make_shared<EmbedCommandOptions>();
  CLI::App* command = app.add_subcommand("embed", "Embed texts with a local model (one vector per line, or --json)");
  options->engine.add_to(*command);
  command->add_option("texts", options->texts, "Texts to embed");
  command->add_option("-f,--file", options->file, "Also embed each line of this file");
  command->add_option("--input-type", options->input_type, "query or passage: the model's prefix for that side");
  command->add_option("--dimensions", options->dimensions, "Keep the first N dimensions (Matryoshka), re-normalised");
  command->add_flag("--json", options->json, "Print an OpenAI-style embeddings response");
  command->callback([options, context] { context.action = [options] { return run_embed(*options); }; });
}

AIRLOCK_REGISTER_COMMAND(60, add_embed_command);

}  // namespace airlock::cli
