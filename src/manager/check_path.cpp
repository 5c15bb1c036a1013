#include "manager/check_path.h"

#include <fmt/format.h>

#include <set>

#include "core/redact.h"
#include "core/units.h"
#include "manager/ai_model.h"
#include "sync/index.h"

namespace airlock::manager {
namespace {

constexpr std::string_view kProfileDir = ".airlock/profiles/";
constexpr std::uint64_t kMaxRecordBytes = 16ull << 20;
constexpr std::size_t kMaxRecords = 256;

// Reads the fields a person needs from a profile record (`.airlock/profiles/<id>.json`, format
// airlock-profile/1, written by download-to-cache).
Result<PathProfile> read_profile(const Json& json, const std::set<std::string>& index_files, std::string_view source) {
  if (!json.is_object() || !json.contains("id") || !json["id"].is_string() || !json.contains("files") ||
      !json["files"].is_array()) {
    return parse_error(fmt::format("{}: not a profile record (needs \"id\" and \"files\")", source));
  }
  PathProfile profile;
  profile.id = json["id"].get<std::string>();
  if (json.contains("description") && json["description"].is_string()) profile.description = json["description"];
  if (json.contains("model") && json["model"].is_string()) profile.model = json["model"];
  if (json.contains("tags") && json["tags"].is_object()) profile.tags = json["tags"];
  for (const Json& file : json["files"]) {
    if (!file.is_object()) continue;
    ++profile.files;
    if (file.contains("size") && file["size"].is_number_unsigned()) profile.bytes += file["size"].get<std::uint64_t>();
    if (file.contains("cache_path") && file["cache_path"].is_string() &&
        !index_files.contains(file["cache_path"].get<std::string>())) {
      ++profile.missing_files;
    }
  }
  return profile;
}

}  // namespace

Json PathCheck::to_json() const {
  Json list = Json::array();
  for (const PathProfile& p : profiles) {
    list.push_back({{"id", p.id},
                    {"description", p.description},
                    {"model", p.model},
                    {"tags", p.tags},
                    {"files", p.files},
                    {"bytes", p.bytes},
                    {"missingFiles", p.missing_files},
                    {"complete", p.missing_files == 0}});
  }
  return {{"uri", uri},     {"ok", ok},         {"message", message}, {"files", files}, {"bytes", bytes},
          {"symlinks", symlinks}, {"profiles", list}, {"problems", problems}};
}

Result<PathCheck> check_model_profiles_path(const std::string& uri, const store::StoreConfig& config) {
  if (uri.empty()) return invalid_argument("'modelProfilesPath' is required: the store path a cache was pushed to");
  AIRLOCK_TRY(validate_model_profiles_path(uri));
  PathCheck check;
  check.uri = redact(uri);
  auto opened = store::open_store(uri, config);
  if (!opened.ok()) {
    check.message = fmt::format("cannot open the store: {}", redact(opened.error().message()));
    return check;
  }
  store::Store& store = **opened;
  check.uri = store.display_uri();
  auto text = store.read_to_string(sync::kIndexKey, sync::kMaxIndexBytes);
  if (!text.ok()) {
    if (text.error().code() == ErrorCode::kNotFound) {
      check.message = fmt::format(
          "no store index at {}/{}: nothing was pushed there, or the push did not finish (push writes the index "
          "last; run `airlock push <cache> {}` again)",
          check.uri, sync::kIndexKey, check.uri);
    } else {
      check.message = fmt::format("cannot read the store index: {}", redact(text.error().message()));
    }
    return check;
  }
  auto index = sync::parse_index(*text, fmt::format("{}/{}", check.uri, sync::kIndexKey));
  if (!index.ok()) {
    check.message = fmt::format("the store index is not valid: {}", index.error().message());
    return check;
  }
  check.ok = true;
  check.files = index->file_count();
  check.bytes = index->file_bytes();
  check.symlinks = index->symlink_count();
  std::set<std::string> index_paths;
  for (const sync::IndexEntry& entry : index->entries) index_paths.insert(entry.path);
  for (const sync::IndexEntry& entry : index->entries) {
    if (entry.type != sync::EntryType::kFile || !entry.path.starts_with(kProfileDir) || !entry.path.ends_with(".json")) {
      continue;
    }
    if (check.profiles.size() + check.problems.size() >= kMaxRecords) {
      check.problems.push_back(fmt::format("more than {} profile records; the rest were not read", kMaxRecords));
      break;
    }
    auto record = store.read_to_string(entry.path, kMaxRecordBytes);
    if (!record.ok()) {
      check.problems.push_back(fmt::format("{}: {}", entry.path, redact(record.error().message())));
      continue;
    }
    auto json = parse_json(*record, entry.path);
    if (!json.ok()) {
      check.problems.push_back(json.error().message());
      continue;
    }
    auto profile = read_profile(*json, index_paths, entry.path);
    if (!profile.ok()) {
      check.problems.push_back(profile.error().message());
      continue;
    }
    check.profiles.push_back(std::move(*profile));
  }
  check.message = fmt::format("{} files ({}), {} profile{} recorded", check.files, format_bytes(check.bytes),
                              check.profiles.size(), check.profiles.size() == 1 ? "" : "s");
  if (check.profiles.empty()) {
    check.message += ": the cache holds no airlock profile records (push a cache made by `airlock download-to-cache`)";
  }
  return check;
}

}  // namespace airlock::manager
