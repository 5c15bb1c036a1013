// `airlock pull URI DEST_DIR`: a store (or an archive) into a local tree, verified and resumable.
#include "sync/pull.h"

#include "cli/command.h"
#include "cli/repository_override_layout.h"
#include "cli/store_options.h"
#include "core/json.h"
#include "store/store_factory.h"
#include "sync/archive.h"

namespace airlock::cli {
namespace {

struct PullFlags {
  std::string uri;
  std::string destination;
  std::string verify = "full";
  std::string layout = "tree";
  StoreOptions store;
  TransferFlags transfer;
};

Status run_pull(const PullFlags& flags, const GlobalOptions& global) {
  AIRLOCK_ASSIGN_OR_RETURN(sync::TransferOptions transfer, flags.transfer.resolve(global));
  sync::PullOptions options;
  static_cast<sync::TransferOptions&>(options) = transfer;
  AIRLOCK_ASSIGN_OR_RETURN(options.verify, sync::parse_verify_mode(flags.verify));
  const store::StoreConfig config = flags.store.config(flags.transfer.jobs);
  sync::PullSummary summary;
  if (flags.layout == "nim-repository-override") {
    AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> source, store::open_store(flags.uri, config));
    AIRLOCK_ASSIGN_OR_RETURN(summary, pull_repository_override_layout(*source, flags.destination, options));
  } else if (auto archive = store::split_archive_uri(flags.uri)) {
    AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> folder, store::open_store(archive->folder_uri, config));
    AIRLOCK_ASSIGN_OR_RETURN(summary, sync::pull_archive(*folder, archive->key, flags.destination, options));
  } else {
    AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> source, store::open_store(flags.uri, config));
    AIRLOCK_ASSIGN_OR_RETURN(summary, sync::pull(*source, flags.destination, options));
  }
  print(flags.transfer.json ? dump_json(summary.to_json(), 2) + "\n" : summary.to_text());
  return ok_status();
}

}  // namespace

void add_pull_command(CLI::App& app, CommandContext context) {
  auto flags = std::make_shared<PullFlags>();
  CLI::App* command = app.add_subcommand(
      "pull",
      "Copy a pushed tree (or a .tar/.tar.gz/.tar.zst/.zip) from a store into a directory, verified, resumably");
  command
      ->add_option("URI", flags->uri,
                   "s3://, gs://, Azure Blob, webhdfs://, hdfs://, https://host/path, file:///dir, a path, or an "
                   "archive URL")
      ->required();
  command->add_option("DEST_DIR", flags->destination, "The directory to fill (a cache directory)")->required();
  command->add_option("--verify", flags->verify, "full: sha256 of every byte (default); size: sizes only")
      ->check(CLI::IsMember({"full", "size"}));
  command
      ->add_option("--layout", flags->layout,
                   "tree: a pushed tree (default); nim-repository-override: objects at NIM_REPOSITORY_OVERRIDE "
                   "keys, installed into the cache DEST_DIR")
      ->check(CLI::IsMember({"tree", "nim-repository-override"}));
  flags->store.add_to(*command);
  flags->transfer.add_to(*command, false);
  command->callback(
      [flags, context] { context.action = [flags, &global = context.global] { return run_pull(*flags, global); }; });
}

AIRLOCK_REGISTER_COMMAND(31, add_pull_command);

}  // namespace airlock::cli
