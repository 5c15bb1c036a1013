// `airlock verify URI [--against DIR]`: a pushed tree, or a local copy of it, against the index.
#include "sync/verify.h"

#include <fmt/format.h>

#include "cli/command.h"
#include "cli/store_options.h"
#include "core/json.h"
#include "store/store_factory.h"

namespace airlock::cli {
namespace {

struct VerifyFlags {
  std::string uri;
  std::string against;
  std::string verify = "full";
  StoreOptions store;
  TransferFlags transfer;
};

Status run_verify(const VerifyFlags& flags, const GlobalOptions& global) {
  AIRLOCK_ASSIGN_OR_RETURN(sync::TransferOptions transfer, flags.transfer.resolve(global));
  sync::VerifyOptions options;
  static_cast<sync::TransferOptions&>(options) = transfer;
  AIRLOCK_ASSIGN_OR_RETURN(options.mode, sync::parse_verify_mode(flags.verify));
  if (!flags.against.empty()) options.against = flags.against;
  AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> source,
                           store::open_store(flags.uri, flags.store.config(flags.transfer.jobs)));
  AIRLOCK_ASSIGN_OR_RETURN(sync::VerifyReport report, sync::verify(*source, options));
  print(flags.transfer.json ? dump_json(report.to_json(), 2) + "\n" : report.to_text());
  if (!report.ok()) {
    return Error(ErrorCode::kCorrupt, fmt::format("{}: {} of {} entries do not match the index", report.checked,
                                                  report.problems.size(), report.files + report.symlinks));
  }
  return ok_status();
}

}  // namespace

void add_verify_command(CLI::App& app, CommandContext context) {
  auto flags = std::make_shared<VerifyFlags>();
  CLI::App* command =
      app.add_subcommand("verify", "Check a pushed tree (or a local copy, --against DIR) against its store index");
  command->add_option("URI", flags->uri, "s3://bucket/prefix, https://host/path, file:///dir or a path")->required();
  command->add_option("--against", flags->against, "Check this local directory instead of the store's objects");
  command->add_option("--verify", flags->verify, "full: sha256 of every byte (default); size: sizes only")
      ->check(CLI::IsMember({"full", "size"}));
  flags->store.add_to(*command);
  flags->transfer.add_to(*command, false);
  command->callback(
      [flags, context] { context.action = [flags, &global = context.global] { return run_verify(*flags, global); }; });
}

AIRLOCK_REGISTER_COMMAND(33, add_verify_command);

}  // namespace airlock::cli
