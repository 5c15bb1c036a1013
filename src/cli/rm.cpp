// `airlock rm URI -r --yes`: delete a pushed tree (the index first), or one object without -r.
#include <fmt/format.h>

#include "cli/command.h"
#include "cli/store_options.h"
#include "core/json.h"
#include "store/store_factory.h"
#include "sync/remove.h"

namespace airlock::cli {
namespace {

struct RmFlags {
  std::string uri;
  bool recursive = false;
  bool yes = false;
  bool dry_run = false;
  StoreOptions store;
  TransferFlags transfer;
};

Status run_rm(const RmFlags& flags, const GlobalOptions& global) {
  AIRLOCK_ASSIGN_OR_RETURN(sync::TransferOptions transfer, flags.transfer.resolve(global));
  const store::StoreConfig config = flags.store.config(flags.transfer.jobs);
  if (!flags.recursive) {
    // One object: the store of its folder, and its name.
    std::string uri = flags.uri;
    auto slash = uri.rfind('/');
    auto scheme = uri.find("://");
    if (slash == std::string::npos || slash + 1 == uri.size() || (scheme != std::string::npos && slash <= scheme + 2)) {
      return invalid_argument(fmt::format("'{}' does not name one object; use -r to delete a whole tree", uri));
    }
    AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> folder, store::open_store(uri.substr(0, slash + 1), config));
    const std::string key = uri.substr(slash + 1);
    AIRLOCK_ASSIGN_OR_RETURN(std::optional<store::ObjectInfo> info, folder->stat(key));
    if (!info) return not_found(fmt::format("{} does not exist (to delete a tree, use -r)", flags.uri));
    if (flags.dry_run || !flags.yes) {
      print(fmt::format("would delete {} ({} bytes){}\n", flags.uri, info->size,
                        flags.yes ? "" : "; add --yes to delete it"));
      return flags.dry_run ? ok_status() : invalid_argument("refusing to delete without --yes");
    }
    AIRLOCK_TRY(folder->remove(key));
    print(fmt::format("deleted {}\n", flags.uri));
    return ok_status();
  }
  AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> tree, store::open_store(flags.uri, config));
  sync::RemoveOptions options;
  static_cast<sync::TransferOptions&>(options) = transfer;
  options.dry_run = flags.dry_run || !flags.yes;
  AIRLOCK_ASSIGN_OR_RETURN(sync::RemoveSummary summary, sync::remove_tree(*tree, options));
  print(flags.transfer.json ? dump_json(summary.to_json(), 2) + "\n" : summary.to_text());
  if (!flags.yes && !flags.dry_run) {
    return invalid_argument(
        fmt::format("refusing to delete {} objects under {} without --yes", summary.objects, tree->display_uri()));
  }
  return ok_status();
}

}  // namespace

void add_rm_command(CLI::App& app, CommandContext context) {
  auto flags = std::make_shared<RmFlags>();
  CLI::App* command = app.add_subcommand("rm", "Delete a pushed tree from a store (-r, index first) or one object");
  command->add_option("URI", flags->uri, "s3://bucket/prefix, https://host/path, file:///dir or a path")->required();
  command->add_flag("-r,--recursive", flags->recursive, "Delete everything under the prefix");
  command->add_flag("--yes", flags->yes, "Really delete (without it, rm only says what it would delete)");
  command->add_flag("--dry-run", flags->dry_run, "Say what would be deleted; delete nothing");
  flags->store.add_to(*command);
  flags->transfer.add_to(*command, false);
  command->callback(
      [flags, context] { context.action = [flags, &global = context.global] { return run_rm(*flags, global); }; });
}

AIRLOCK_REGISTER_COMMAND(34, add_rm_command);

}  // namespace airlock::cli
