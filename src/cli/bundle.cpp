// `airlock bundle SRC_DIR FILE` and `airlock unbundle FILE DEST_DIR`: a cache tree as one tar
// (optionally zstd) with its index inside, for removable media.
#include "cli/command.h"
#include "cli/store_options.h"
#include "core/json.h"
#include "sync/archive.h"

namespace airlock::cli {
namespace {

struct BundleFlags {
  std::string source;
  std::string file;
  bool zstd = false;
  int level = 3;
  bool follow_symlinks = false;
  TransferFlags transfer;
};

struct UnbundleFlags {
  std::string file;
  std::string destination;
  std::string verify = "full";
  TransferFlags transfer;
};

Status run_bundle(const BundleFlags& flags, const GlobalOptions& global) {
  AIRLOCK_ASSIGN_OR_RETURN(sync::TransferOptions transfer, flags.transfer.resolve(global));
  sync::BundleOptions options;
  static_cast<sync::TransferOptions&>(options) = transfer;
  options.zstd = flags.zstd;
  options.zstd_level = flags.level;
  options.follow_symlinks = flags.follow_symlinks;
  AIRLOCK_ASSIGN_OR_RETURN(sync::BundleSummary summary, sync::bundle(flags.source, flags.file, options));
  print(flags.transfer.json ? dump_json(summary.to_json(), 2) + "\n" : summary.to_text());
  return ok_status();
}

Status run_unbundle(const UnbundleFlags& flags, const GlobalOptions& global) {
  AIRLOCK_ASSIGN_OR_RETURN(sync::TransferOptions transfer, flags.transfer.resolve(global));
  sync::PullOptions options;
  static_cast<sync::TransferOptions&>(options) = transfer;
  AIRLOCK_ASSIGN_OR_RETURN(options.verify, sync::parse_verify_mode(flags.verify));
  AIRLOCK_ASSIGN_OR_RETURN(sync::PullSummary summary, sync::unbundle(flags.file, flags.destination, options));
  print(flags.transfer.json ? dump_json(summary.to_json(), 2) + "\n" : summary.to_text());
  return ok_status();
}

}  // namespace

void add_bundle_command(CLI::App& app, CommandContext context) {
  auto flags = std::make_shared<BundleFlags>();
  CLI::App* command =
      app.add_subcommand("bundle", "Pack a cache tree into one tar (zstd with --zstd or a .zst name), index inside");
  command->add_option("SRC_DIR", flags->source, "The tree to pack")->required();
  command->add_option("FILE", flags->file, "The bundle to write (.tar, .tar.zst)")->required();
  command->add_flag("--zstd", flags->zstd, "Compress with zstd");
  command->add_option("--level", flags->level, "zstd level (1-19)")->capture_default_str()->check(CLI::Range(1, 19));
  command->add_flag("--follow-symlinks", flags->follow_symlinks, "Pack what symlinks point to as copies");
  flags->transfer.add_to(*command, false);
  command->callback(
      [flags, context] { context.action = [flags, &global = context.global] { return run_bundle(*flags, global); }; });

  auto unflags = std::make_shared<UnbundleFlags>();
  CLI::App* unbundle = app.add_subcommand("unbundle", "Unpack a bundle into a directory, verified against its index");
  unbundle->add_option("FILE", unflags->file, "The bundle (.tar, .tar.zst, also .tar.gz and .zip)")->required();
  unbundle->add_option("DEST_DIR", unflags->destination, "The directory to fill")->required();
  unbundle->add_option("--verify", unflags->verify, "full (default) or size")->check(CLI::IsMember({"full", "size"}));
  unflags->transfer.add_to(*unbundle, false);
  unbundle->callback([unflags, context] {
    context.action = [unflags, &global = context.global] { return run_unbundle(*unflags, global); };
  });
}

AIRLOCK_REGISTER_COMMAND(35, add_bundle_command);

}  // namespace airlock::cli
