// `airlock cache ls|verify|du|prune|rm`: look after a local model cache.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "cache/cache_cleanup.h"
#include "cache/cache_inventory.h"
#include "cache/cache_verify.h"
#include "cache/hub_layout.h"
#include "cli/cache_options.h"
#include "cli/command.h"
#include "core/json.h"

namespace airlock::cli {
namespace {

struct CacheCommandOptions {
  CacheOptions cache;
  bool json = false;
  bool revisions = false;
  std::string profile;
  std::size_t threads = 0;
  bool yes = false;
  bool partial = false;
  bool dry_run = false;
  std::vector<std::string> targets;
};

void print(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

Status run_ls(const CacheCommandOptions& options) {
  cache::CacheLayout layout(options.cache.root());
  AIRLOCK_ASSIGN_OR_RETURN(cache::CacheInventory inventory, cache::scan_cache(layout));
  print(options.json ? dump_json(cache::inventory_to_json(inventory), 2) + "\n" : cache::render_inventory(inventory, options.revisions));
  return ok_status();
}

Status run_du(const CacheCommandOptions& options) {
  cache::CacheLayout layout(options.cache.root());
  AIRLOCK_ASSIGN_OR_RETURN(cache::CacheInventory inventory, cache::scan_cache(layout));
  if (options.json) {
    Json json = cache::inventory_to_json(inventory);
    Json out = {{"root", json["root"]}, {"disk_bytes", json["disk_bytes"]}, {"partial_bytes", json["partial_bytes"]}};
    Json repos = Json::array();
    for (const auto& repo : json["repos"]) {
      repos.push_back({{"id", repo["id"]},
                       {"disk_bytes", repo["disk_bytes"]},
                       {"partial_bytes", repo["partial_bytes"]},
                       {"unreferenced_bytes", repo["unreferenced_bytes"]}});
    }
    out["repos"] = std::move(repos);
    print(dump_json(out, 2) + "\n");
  } else {
    print(cache::render_disk_usage(inventory));
  }
  return ok_status();
}

Status run_verify(const CacheCommandOptions& options, const GlobalOptions& global) {
  cache::CacheLayout layout(options.cache.root());
  cache::VerifyOptions verify;
  if (!options.profile.empty()) verify.profile = options.profile;
  verify.threads = options.threads;
  verify.progress = progress_options(global);
  AIRLOCK_ASSIGN_OR_RETURN(cache::VerifyReport report, cache::verify_cache(layout, verify));
  print(options.json ? dump_json(cache::verify_report_to_json(report), 2) + "\n" : cache::render_verify_report(report));
  if (!report.clean()) {
    return Error(ErrorCode::kCorrupt, fmt::format("{} missing and {} corrupt files in {}{}", report.missing, report.corrupt,
                                                  layout.root().string(),
                                                  report.problems.empty() ? "" : fmt::format(", {} problems", report.problems.size())));
  }
  return ok_status();
}

Status run_prune(const CacheCommandOptions& options) {
  cache::CacheLayout layout(options.cache.root());
  cache::PruneOptions prune;
  prune.partial = options.partial;
  AIRLOCK_ASSIGN_OR_RETURN(cache::CleanupPlan plan, cache::plan_prune(layout, prune));
  bool apply = options.yes && !plan.empty();
  if (apply) AIRLOCK_TRY(cache::apply_cleanup(layout, plan));
  print(options.json ? dump_json(cache::cleanup_plan_to_json(layout, plan, apply), 2) + "\n"
                     : cache::render_cleanup_plan(layout, plan, apply));
  return ok_status();
}

Status run_rm(const CacheCommandOptions& options) {
  cache::CacheLayout layout(options.cache.root());
  AIRLOCK_ASSIGN_OR_RETURN(cache::CleanupPlan plan, cache::plan_remove(layout, options.targets));
  bool apply = !options.dry_run && !plan.empty();
  if (apply) AIRLOCK_TRY(cache::apply_cleanup(layout, plan));
  std::string text = options.json ? dump_json(cache::cleanup_plan_to_json(layout, plan, apply), 2) + "\n"
                                  : cache::render_cleanup_plan(layout, plan, apply);
  if (!options.json && options.dry_run) {
    auto at = text.find("(dry run: add --yes to remove)");
    if (at != std::string::npos) text.replace(at, 30, "(dry run)");
  }
  print(text);
  return ok_status();
}

}  // namespace

void add_cache_command(CLI::App& app, CommandContext context) {
  auto options = std::make_shared<CacheCommandOptions>();
  CLI::App* cache = app.add_subcommand("cache", "Look after a local model cache: ls, verify, du, prune, rm");
  cache->require_subcommand(1);

  CLI::App* ls = cache->add_subcommand("ls", "Models, revisions, refs, sizes, last use, and the profiles recorded");
  options->cache.add_to(*ls);
  ls->add_flag("--json", options->json, "Print as JSON");
  ls->add_flag("--revisions", options->revisions, "One line per revision too");
  ls->callback([options, context] { context.action = [options] { return run_ls(*options); }; });

  CLI::App* verify = cache->add_subcommand("verify", "Rehash every file against its record, blob name and checksums.blake3");
  options->cache.add_to(*verify);
  verify->add_option("-p,--profile", options->profile, "Only this profile's files");
  verify->add_option("--threads", options->threads, "Files hashed at once (default: one per core)");
  verify->add_flag("--json", options->json, "Print the report as JSON");
  verify->footer("Exit status 1 when any file is missing or corrupt.");
  verify->callback([options, context] { context.action = [options, context] { return run_verify(*options, context.global); }; });

  CLI::App* du = cache->add_subcommand("du", "Disk use per hub and repository, partial downloads, unused blobs");
  options->cache.add_to(*du);
  du->add_flag("--json", options->json, "Print as JSON");
  du->callback([options, context] { context.action = [options] { return run_du(*options); }; });

  CLI::App* prune = cache->add_subcommand("prune", "Remove blobs no snapshot uses (a dry run unless --yes)");
  options->cache.add_to(*prune);
  prune->add_flag("-y,--yes", options->yes, "Remove them (without it, only list them)");
  prune->add_flag("--partial", options->partial, "Also remove interrupted downloads (they can no longer be resumed)");
  prune->add_flag("--json", options->json, "Print as JSON");
  prune->callback([options, context] { context.action = [options] { return run_prune(*options); }; });

  CLI::App* rm = cache->add_subcommand("rm", "Remove profiles, repositories (hf:org/name, ngc:org/team/model) or revisions (…@rev)");
  options->cache.add_to(*rm);
  rm->add_option("targets", options->targets, "Profile ids, repositories or repository@revision")->required();
  rm->add_flag("--dry-run", options->dry_run, "Only show what would be removed");
  rm->add_flag("--json", options->json, "Print as JSON");
  rm->callback([options, context] { context.action = [options] { return run_rm(*options); }; });
}

AIRLOCK_REGISTER_COMMAND(40, add_cache_command);

}  // namespace airlock::cli
