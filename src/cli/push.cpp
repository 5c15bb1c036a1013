// `airlock push SRC_DIR URI`: a cache tree into a store, with its index written last.
#include "sync/push.h"

#include "cli/command.h"
#include "cli/repository_override_layout.h"
#include "cli/store_options.h"
#include "core/json.h"
#include "store/store_factory.h"

namespace airlock::cli {
namespace {

struct PushFlags {
  std::string source;
  std::string uri;
  bool follow_symlinks = false;
  bool dry_run = false;
  std::string layout = "tree";
  StoreOptions store;
  TransferFlags transfer;
};

Status run_push(const PushFlags& flags, const GlobalOptions& global) {
  AIRLOCK_ASSIGN_OR_RETURN(sync::TransferOptions transfer, flags.transfer.resolve(global));
  sync::PushOptions options;
  static_cast<sync::TransferOptions&>(options) = transfer;
  options.follow_symlinks = flags.follow_symlinks;
  options.dry_run = flags.dry_run;
  AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> destination,
                           store::open_store(flags.uri, flags.store.config(flags.transfer.jobs)));
  sync::PushSummary summary;
  if (flags.layout == "nim-repository-override") {
    AIRLOCK_ASSIGN_OR_RETURN(summary, push_repository_override_layout(flags.source, *destination, options));
  } else {
    AIRLOCK_ASSIGN_OR_RETURN(summary, sync::push(flags.source, *destination, options));
  }
  print(flags.transfer.json ? dump_json(summary.to_json(), 2) + "\n" : summary.to_text());
  return ok_status();
}

}  // namespace

void add_push_command(CLI::App& app, CommandContext context) {
  auto flags = std::make_shared<PushFlags>();
  CLI::App* command = app.add_subcommand(
      "push", "Copy a cache tree into a store (s3://, https:// with WebDAV, a directory), with its index, resumably");
  command->add_option("SRC_DIR", flags->source, "The tree to push (a cache directory)")->required();
  command
      ->add_option("URI", flags->uri,
                   "Where: s3:// or gs://bucket/prefix, https://<account>.blob.core.windows.net/<container>/prefix, "
                   "webhdfs:// or hdfs://namenode:port/path, https://host/path, file:///dir or a path")
      ->required();
  command->add_flag("--follow-symlinks", flags->follow_symlinks,
                    "Upload what symlinks point to as copies (for readers that cannot read the index)");
  command->add_flag("--dry-run", flags->dry_run, "Say what would be uploaded; change nothing");
  command
      ->add_option("--layout", flags->layout,
                   "tree: the cache as it is (default); nim-repository-override: the NGC files of the cached "
                   "profiles at the keys NIM reads with NIM_REPOSITORY_OVERRIDE")
      ->check(CLI::IsMember({"tree", "nim-repository-override"}));
  flags->store.add_to(*command);
  flags->transfer.add_to(*command, true);
  command->callback(
      [flags, context] { context.action = [flags, &global = context.global] { return run_push(*flags, global); }; });
}

AIRLOCK_REGISTER_COMMAND(30, add_push_command);

}  // namespace airlock::cli
