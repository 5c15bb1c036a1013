// `airlock list-model-profiles`: which profiles of a manifest fit this machine or a --target.
#include <fmt/format.h>

#include <cstdio>

#include "cli/command.h"
#include "cli/hardware_options.h"
#include "core/json.h"
#include "profiles/listing.h"
#include "profiles/manifest.h"
#include "profiles/selection.h"

namespace airlock::cli {
namespace {

struct ListOptions {
  std::string manifest;
  std::string manifest_dir;
  HardwareOptions hardware;
  bool json = false;
  bool explain = false;
  bool lora = false;
  std::string profile;  // --profile or NIM_MODEL_PROFILE: an id or a description to pin
};

Status run_list(const ListOptions& options) {
  profiles::ManifestSource source;
  if (!options.manifest.empty()) source.file = options.manifest;
  if (!options.manifest_dir.empty()) source.dir = options.manifest_dir;
  AIRLOCK_ASSIGN_OR_RETURN(profiles::Manifest manifest, profiles::load_manifest(source));
  AIRLOCK_ASSIGN_OR_RETURN(profiles::Hardware hardware, options.hardware.resolve());
  profiles::SelectionOptions selection_options;
  selection_options.lora = options.lora;
  profiles::Selection selection = profiles::select_profiles(manifest, hardware, selection_options);
  // A pinned profile must exist (an unknown one is an error listing the valid ones); without a
  // pin, the automatic choice may legitimately be empty.
  const profiles::Assessment* selected = selection.chosen_assessment();
  if (!options.profile.empty()) {
    AIRLOCK_ASSIGN_OR_RETURN(selected, profiles::resolve_profile(selection, manifest, options.profile));
  }
  std::string out;
  if (options.json) {
    Json json = profiles::listing_to_json(hardware, selection);
    json["manifest"] = manifest.sources;
    if (selected != nullptr) {
      json["selected"] = {{"id", selected->profile->id}, {"description", selected->description},
                          {"pinned", !options.profile.empty()}};
    }
    out = dump_json(json, 2) + "\n";
  } else {
    out = profiles::render_listing(hardware, selection);
    if (options.explain) {
      out += profiles::render_explanation(hardware, selection);
      // NIM's own line, so that people and scripts who know it find it.
      if (selected != nullptr) out += fmt::format("Selected profile: {} ({})\n", selected->profile->id, selected->description);
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return ok_status();
}

}  // namespace

void add_list_model_profiles_command(CLI::App& app, CommandContext context) {
  auto options = std::make_shared<ListOptions>();
  CLI::App* command = app.add_subcommand(
      "list-model-profiles", "List a manifest's profiles by whether they run on this machine (or on --target)");
  auto* manifest = command->add_option("-m,--manifest,--manifest-file", options->manifest,
                                       "Model manifest (NIM v1/v2 or airlock/1, YAML or JSON); default $NIM_MANIFEST_PATH");
  command->add_option("--manifest-dir", options->manifest_dir, "A directory of manifests, read as one")->excludes(manifest);
  options->hardware.add_to(*command);
  command->add_flag("--json", options->json, "Print the listing as JSON");
  command->add_flag("--explain", options->explain, "Say why each profile is where it is, and how the choice was made");
  command->add_flag("--lora", options->lora, "Choose among LoRA profiles");
  command->add_option("-p,--profile", options->profile, "Pin a profile by id or description (checked against the manifest)")
      ->envname("NIM_MODEL_PROFILE");
  command->callback([options, context] { context.action = [options] { return run_list(*options); }; });
}

AIRLOCK_REGISTER_COMMAND(10, add_list_model_profiles_command);

}  // namespace airlock::cli
