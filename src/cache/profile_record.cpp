#include "cache/profile_record.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <system_error>

#include "core/file_io.h"
#include "core/hex.h"
#include "core/paths.h"
#include "core/redact.h"

namespace airlock::cache {
namespace fs = std::filesystem;
namespace {

constexpr std::uint64_t kMaxRecordBytes = 256u << 20;

Result<std::string> get_string(const Json& object, const char* key, std::string_view where, bool required = true) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (!required) return std::string();
    return parse_error(fmt::format("{}: missing \"{}\"", where, key));
  }
  if (!it->is_string()) return parse_error(fmt::format("{}: \"{}\" must be a string", where, key));
  return it->get<std::string>();
}

}  // namespace

std::uint64_t ProfileRecord::total_size() const {
  std::uint64_t total = 0;
  for (const auto& file : files) total += file.size;
  return total;
}

Json record_to_json(const CacheLayout& layout, const ProfileRecord& record) {
  Json json = Json::object();
  json["format"] = kProfileRecordFormat;
  json["id"] = record.id;
  json["description"] = record.description;
  Json tags = Json::object();
  for (const auto& [key, value] : record.tags) tags[key] = value;
  json["tags"] = tags;
  if (!record.model.empty()) json["model"] = record.model;
  json["manifests"] = record.manifests;
  json["created_at"] = record.created_at;
  Json files = Json::array();
  for (const auto& file : record.files) {
    Json entry = Json::object();
    entry["path"] = file.path;
    entry["uri"] = redact(file.uri);
    entry["hub"] = hub_name(file.repo.hub);
    entry["repo"] = file.repo.name;
    entry["snapshot"] = file.snapshot;
    entry["file"] = file.file;
    // Derived, for people and for tools that do not know the layout rules.
    entry["cache_path"] = layout.relative(layout.snapshot_dir(file.repo, file.snapshot) / file.file);
    if (!file.blob.empty()) entry["blob"] = file.blob;
    entry["size"] = file.size;
    entry["sha256"] = file.sha256;
    if (file.blake3) entry["blake3"] = *file.blake3;
    files.push_back(std::move(entry));
  }
  json["files"] = std::move(files);
  return json;
}

Result<ProfileRecord> record_from_json(const Json& json, std::string_view source) {
  if (!json.is_object()) return parse_error(fmt::format("{}: a profile record must be a JSON object", source));
  AIRLOCK_ASSIGN_OR_RETURN(std::string format, get_string(json, "format", source));
  if (format != kProfileRecordFormat) {
    return Error(ErrorCode::kUnsupported,
                 fmt::format("{}: record format '{}' is not {}; a newer airlock wrote it", source, format, kProfileRecordFormat));
  }
  ProfileRecord record;
  AIRLOCK_ASSIGN_OR_RETURN(record.id, get_string(json, "id", source));
  if (Status valid = validate_profile_id(record.id); !valid.ok()) return valid.error().with_context(source);
  AIRLOCK_ASSIGN_OR_RETURN(record.description, get_string(json, "description", source, false));
  AIRLOCK_ASSIGN_OR_RETURN(record.model, get_string(json, "model", source, false));
  AIRLOCK_ASSIGN_OR_RETURN(record.created_at, get_string(json, "created_at", source, false));
  if (auto tags = json.find("tags"); tags != json.end() && tags->is_object()) {
    for (const auto& [key, value] : tags->items()) {
      if (value.is_string()) record.tags.emplace_back(key, value.get<std::string>());
    }
  }
  if (auto manifests = json.find("manifests"); manifests != json.end() && manifests->is_array()) {
    for (const auto& m : *manifests) {
      if (m.is_string()) record.manifests.push_back(m.get<std::string>());
    }
  }
  auto files = json.find("files");
  if (files == json.end() || !files->is_array()) return parse_error(fmt::format("{}: \"files\" must be an array", source));
  std::size_t index = 0;
  for (const auto& entry : *files) {
    std::string where = fmt::format("{}: files[{}]", source, index++);
    if (!entry.is_object()) return parse_error(where + ": must be an object");
    RecordedFile file;
    AIRLOCK_ASSIGN_OR_RETURN(file.path, get_string(entry, "path", where));
    AIRLOCK_ASSIGN_OR_RETURN(file.uri, get_string(entry, "uri", where, false));
    AIRLOCK_ASSIGN_OR_RETURN(std::string hub, get_string(entry, "hub", where));
    AIRLOCK_ASSIGN_OR_RETURN(file.repo.hub, parse_hub_name(hub));
    AIRLOCK_ASSIGN_OR_RETURN(file.repo.name, get_string(entry, "repo", where));
    AIRLOCK_ASSIGN_OR_RETURN(file.snapshot, get_string(entry, "snapshot", where));
    AIRLOCK_ASSIGN_OR_RETURN(file.file, get_string(entry, "file", where));
    AIRLOCK_ASSIGN_OR_RETURN(file.blob, get_string(entry, "blob", where, false));
    AIRLOCK_ASSIGN_OR_RETURN(file.sha256, get_string(entry, "sha256", where));
    auto size = entry.find("size");
    if (size == entry.end() || !size->is_number_unsigned()) return parse_error(where + ": \"size\" must be a non-negative integer");
    file.size = size->get<std::uint64_t>();
    if (auto b3 = entry.find("blake3"); b3 != entry.end() && b3->is_string()) file.blake3 = b3->get<std::string>();
    for (Status check : {validate_relative_path(file.path, "workspace path"), validate_repo_name(file.repo.hub, file.repo.name),
                         validate_snapshot_name(file.snapshot), validate_relative_path(file.file, "snapshot path"),
                         file.blob.empty() ? ok_status() : validate_blob_name(file.blob)}) {
      if (!check.ok()) return check.error().with_context(where);
    }
    if (!is_lower_hex(file.sha256, 64)) return parse_error(where + ": \"sha256\" must be 64 lowercase hex digits");
    if (file.blake3 && !is_lower_hex(*file.blake3, 64)) return parse_error(where + ": \"blake3\" must be 64 lowercase hex digits");
    record.files.push_back(std::move(file));
  }
  return record;
}

Status write_profile_record(const CacheLayout& layout, const ProfileRecord& record) {
  AIRLOCK_TRY(validate_profile_id(record.id));
  AIRLOCK_ASSIGN_OR_RETURN(fs::path path,
                           safe_join(layout.root(), layout.relative(layout.profile_record_path(record.id)), "record path"));
  return write_file_atomic(path, dump_json(record_to_json(layout, record), 2) + "\n");
}

Result<ProfileRecord> read_profile_record(const CacheLayout& layout, std::string_view id) {
  AIRLOCK_TRY(validate_profile_id(id));
  fs::path path = layout.profile_record_path(id);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return not_found(fmt::format("profile {} is not in the cache at {} (no {}): run `airlock download-to-cache -p {}` first",
                                 id, layout.root().string(), layout.relative(path), id));
  }
  AIRLOCK_ASSIGN_OR_RETURN(std::string text, read_file_limited(path, kMaxRecordBytes));
  AIRLOCK_ASSIGN_OR_RETURN(Json json, parse_json(text, path.string()));
  AIRLOCK_ASSIGN_OR_RETURN(ProfileRecord record, record_from_json(json, path.string()));
  if (record.id != id) {
    return parse_error(fmt::format("{}: records profile '{}', not '{}'", path.string(), record.id, id));
  }
  return record;
}

Result<RecordList> list_profile_records(const CacheLayout& layout) {
  RecordList list;
  fs::path dir = layout.profiles_dir();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return list;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    fs::path path = it->path();
    if (path.extension() != ".json" || !it->is_regular_file(ec)) continue;
    std::string id = path.stem().string();
    auto record = read_profile_record(layout, id);
    if (record.ok()) {
      list.records.push_back(std::move(record).value());
    } else {
      list.problems.push_back(record.error().message());
    }
  }
  if (ec) return io_error(fmt::format("cannot list {}: {}", dir.string(), ec.message()));
  std::sort(list.records.begin(), list.records.end(),
            [](const ProfileRecord& a, const ProfileRecord& b) { return a.id < b.id; });
  return list;
}

Status remove_profile_record(const CacheLayout& layout, std::string_view id) {
  AIRLOCK_TRY(validate_profile_id(id));
  std::error_code ec;
  fs::remove(layout.profile_record_path(id), ec);
  if (ec) return io_error(fmt::format("cannot remove the record of profile {}: {}", id, ec.message()));
  return ok_status();
}

Result<fs::path> recorded_file_path(const CacheLayout& layout, const RecordedFile& file) {
  return layout.snapshot_file(file.repo, file.snapshot, file.file);
}

std::string utc_timestamp_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm {};
  ::gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

}  // namespace airlock::cache
