// `airlock ls URI`: what a store holds under a prefix, and whether it has an airlock index.
#include <fmt/format.h>

#include <map>
#include <set>

#include "cli/command.h"
#include "cli/store_options.h"
#include "core/json.h"
#include "core/units.h"
#include "store/store_factory.h"
#include "sync/transfer.h"

namespace airlock::cli {
namespace {

struct LsFlags {
  std::string uri;
  bool recursive = false;
  bool json = false;
  StoreOptions store;
};

struct Listing {
  std::vector<store::ObjectInfo> objects;
  std::vector<std::string> prefixes;
  std::map<std::string, std::string> symlinks;  // from the index
};

Status run_ls(const LsFlags& flags) {
  AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> source, store::open_store(flags.uri, flags.store.config(4)));
  AIRLOCK_ASSIGN_OR_RETURN(std::optional<sync::StoreIndex> index, sync::read_store_index(*source));
  Listing listing;
  if (source->capabilities().list) {
    // One level is folded from the full listing rather than asked with a delimiter: some
    // S3-compatible servers (s3rver among them) answer delimiter listings wrongly when a prefix
    // holds only sub-prefixes, and a model tree is small enough to list whole.
    AIRLOCK_ASSIGN_OR_RETURN(std::vector<store::ObjectInfo> all, source->list_all(""));
    std::set<std::string> dirs;
    for (auto& o : all) {
      auto slash = o.key.find('/');
      if (!flags.recursive && slash != std::string::npos) {
        dirs.insert(o.key.substr(0, slash + 1));
      } else {
        listing.objects.push_back(std::move(o));
      }
    }
    listing.prefixes.assign(dirs.begin(), dirs.end());
  } else if (index) {
    // A plain web server is listed through its index.
    std::set<std::string> dirs;
    for (const auto& e : index->entries) {
      auto slash = e.path.find('/');
      if (!flags.recursive && slash != std::string::npos) {
        dirs.insert(e.path.substr(0, slash + 1));
        continue;
      }
      if (e.type == sync::EntryType::kFile) listing.objects.push_back({e.path, e.size, "", e.sha256, std::nullopt});
    }
    listing.prefixes.assign(dirs.begin(), dirs.end());
    listing.objects.push_back({std::string(sync::kIndexKey), 0, "", std::nullopt, std::nullopt});
  } else {
    return not_found(
        fmt::format("{} cannot be listed (a plain web server) and has no airlock index", source->display_uri()));
  }
  if (index) {
    for (const auto& e : index->entries) {
      if (e.type == sync::EntryType::kSymlink && (flags.recursive || e.path.find('/') == std::string::npos)) {
        listing.symlinks.emplace(e.path, e.target);
      }
    }
  }

  std::uint64_t total = 0;
  for (const auto& o : listing.objects) total += o.size;
  if (flags.json) {
    Json json;
    json["uri"] = source->display_uri();
    Json objects = Json::array();
    for (const auto& o : listing.objects) {
      Json item = {{"key", o.key}, {"size", o.size}};
      if (o.symlink_target) item["symlink_target"] = *o.symlink_target;
      objects.push_back(item);
    }
    json["objects"] = objects;
    json["prefixes"] = listing.prefixes;
    Json links = Json::array();
    for (const auto& [path, target] : listing.symlinks) links.push_back({{"path", path}, {"target", target}});
    json["symlinks"] = links;
    json["total_bytes"] = total;
    if (index) {
      json["index"] = {{"format", sync::kIndexFormat},
                       {"files", index->file_count()},
                       {"symlinks", index->symlink_count()},
                       {"bytes", index->file_bytes()}};
    } else {
      json["index"] = nullptr;
    }
    print(dump_json(json, 2) + "\n");
    return ok_status();
  }
  std::string out;
  for (const auto& p : listing.prefixes) out += fmt::format("{:>14}  {}\n", "DIR", p);
  for (const auto& o : listing.objects) {
    out += fmt::format("{:>14}  {}{}\n", o.size, o.key, o.symlink_target ? " -> " + *o.symlink_target : std::string());
  }
  for (const auto& [path, target] : listing.symlinks) out += fmt::format("{:>14}  {} -> {}\n", "LINK", path, target);
  out += fmt::format("{} objects, {}", listing.objects.size(), format_bytes(total));
  if (index) {
    out += fmt::format("; index: {} files ({}), {} symlinks\n", index->file_count(), format_bytes(index->file_bytes()),
                       index->symlink_count());
  } else {
    out += "; no airlock index here (not pushed by airlock, or the push has not finished)\n";
  }
  print(out);
  return ok_status();
}

}  // namespace

void add_store_ls_command(CLI::App& app, CommandContext context) {
  auto flags = std::make_shared<LsFlags>();
  CLI::App* command = app.add_subcommand("ls", "List what a store holds under a prefix (and its airlock index)");
  command->add_option("URI", flags->uri, "s3://bucket/prefix, https://host/path, file:///dir or a path")->required();
  command->add_flag("-r,--recursive", flags->recursive, "Everything below the prefix, not one level");
  command->add_flag("--json", flags->json, "Print the listing as JSON");
  flags->store.add_to(*command);
  command->callback([flags, context] { context.action = [flags] { return run_ls(*flags); }; });
}

AIRLOCK_REGISTER_COMMAND(32, add_store_ls_command);

}  // namespace airlock::cli
