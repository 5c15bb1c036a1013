#include "profiles/manifest.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "core/env.h"
#include "core/file_io.h"
#include "core/hash.h"
#include "core/hex.h"
#include "core/paths.h"
#include "core/strings.h"
#include "core/uri.h"
#include "profiles/yaml_document.h"

namespace airlock::profiles {
namespace fs = std::filesystem;
namespace {

// Where NIM images keep their manifest, newest layout first.
constexpr const char* kImageManifestPaths[] = {
    "/opt/nim/etc/default/model_manifest.yaml",
    "/etc/nim/config/model_manifest.yaml",
    "/opt/nim/etc/config/default/model_manifest.yaml",
};

// Reads one manifest document into a Manifest. Holds the document so that every error can
// point at a node.
class ManifestReader {
 public:
  ManifestReader(const YamlDocument& document, const ManifestLimits& limits) : doc_(document), limits_(limits) {}

  Result<Manifest> read() {
    const YamlNode& root = *doc_.root;
    if (root.is_null()) return doc_.error_at(root, "the manifest is empty");
    if (!root.is_mapping()) {
      return doc_.error_at(root, fmt::format("a manifest is a mapping, not a {}", yaml_type_name(root)));
    }
    Manifest manifest;
    manifest.sources.push_back(doc_.source);
    if (const YamlNode* version = root.find("schema_version")) {
      AIRLOCK_ASSIGN_OR_RETURN(std::string text, string_value(*version, "schema_version"));
      if (text == kAirlockSchemaVersion) {
        AIRLOCK_TRY(read_profile_list(root, ManifestFormat::kAirlock, manifest));
      } else if (text == "2" || text.rfind("2.", 0) == 0) {
        AIRLOCK_TRY(read_profile_list(root, ManifestFormat::kNimV2, manifest));
      } else {
        return Error(ErrorCode::kUnsupported,
                     fmt::format("{}: unknown schema_version '{}': airlock reads NIM manifests (v1, 2.x) and '{}'",
                                 doc_.where(*version), text, kAirlockSchemaVersion));
      }
    } else if (root.find("model_profile") != nullptr && root.find("manifest") != nullptr) {
      AIRLOCK_TRY(read_legacy(root, manifest));
    } else {
      AIRLOCK_TRY(read_v1(root, manifest));
    }
    if (manifest.profiles.empty()) return doc_.error_at(root, "the manifest defines no profiles");
    return manifest;
  }

 private:
  Error error(const YamlNode& node, std::string_view message) const { return doc_.error_at(node, message); }

  Result<std::string> string_value(const YamlNode& node, std::string_view what) const {
    if (!node.is_scalar() || node.scalar_type() != YamlScalarType::kString) {
      std::string hint;
      if (node.is_scalar() && node.scalar_type() != YamlScalarType::kNull) {
        hint = fmt::format(": quote it ('{}')", node.scalar);
      }
      return error(node, fmt::format("{} must be a string, not a {}{}", what, yaml_type_name(node), hint));
    }
    return node.scalar;
  }

  Result<std::string> scalar_text(const YamlNode& node, std::string_view what) const {
    if (!node.is_scalar()) return error(node, fmt::format("{} must be a string, not a {}", what, yaml_type_name(node)));
    return node.scalar;
  }

  Result<const YamlNode*> required(const YamlNode& parent, std::string_view key, std::string_view what) const {
    const YamlNode* node = parent.find(key);
    if (node == nullptr) return error(parent, fmt::format("{} has no '{}'", what, key));
    return node;
  }

  Status check_id(const YamlNode& node, const std::string& id) const {
    bool valid = !id.empty() && id.size() <= 128 && std::isalnum(static_cast<unsigned char>(id[0]));
    for (char c : id) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') valid = false;
    }
    if (!valid) {
      return error(node, fmt::format("profile id '{}' is not valid: ids are letters, digits, '-', '_' and '.' "
                                     "(usually 64 hex digits)", id));
    }
    if (!ids_.insert(id).second) return error(node, fmt::format("duplicate profile id '{}'", id));
    return ok_status();
  }

  Result<Tags> read_tags(const YamlNode* node) const {
    Tags tags;
    if (node == nullptr || node->is_null()) return tags;
    if (!node->is_mapping()) return error(*node, fmt::format("tags must be a mapping, not a {}", yaml_type_name(*node)));
    for (const auto& [key, value] : node->entries) {
      AIRLOCK_ASSIGN_OR_RETURN(std::string name, string_value(*key, "a tag name"));
      AIRLOCK_ASSIGN_OR_RETURN(std::string text, string_value(*value, fmt::format("tag '{}'", name)));
      tags.emplace_back(std::move(name), std::move(text));
    }
    return tags;
  }

  Status check_profile_count(const YamlNode& at, std::size_t count) const {
    if (count > limits_.max_profiles) {
      return error(at, fmt::format("more than {} profiles in one manifest", limits_.max_profiles));
    }
    return ok_status();
  }

  Status add_file(Profile& profile, const YamlNode& at, std::string path, std::string uri,
                  std::set<std::string>& seen) const {
    if (auto status = validate_relative_path(path, "workspace file path"); !status.ok()) {
      return error(at, status.error().message());
    }
    if (!seen.insert(path).second) return error(at, fmt::format("file '{}' is listed twice in the profile", path));
    if (profile.files.size() >= limits_.max_files_per_profile) {
      return error(at, fmt::format("more than {} files in one profile", limits_.max_files_per_profile));
    }
    ProfileFile file;
    file.path = std::move(path);
    file.uri = std::move(uri);
    profile.files.push_back(std::move(file));
    return ok_status();
  }

  // --- NIM v1: { <id>: {model, release, tags, container_url, workspace: !workspace {components}} }
  Status read_v1(const YamlNode& root, Manifest& manifest) {
    AIRLOCK_TRY(check_profile_count(root, root.entries.size()));
    for (const auto& [key, value] : root.entries) {
      AIRLOCK_ASSIGN_OR_RETURN(std::string id, string_value(*key, "a profile id"));
      AIRLOCK_TRY(check_id(*key, id));
      if (!value->is_mapping()) {
        return error(*value, fmt::format("profile '{}' must be a mapping, not a {} (is this a NIM v1 manifest?)", id,
                                         yaml_type_name(*value)));
      }
      Profile profile;
      profile.id = id;
      profile.format = ManifestFormat::kNimV1;
      profile.location = doc_.where(*key);
      AIRLOCK_ASSIGN_OR_RETURN(profile.tags, read_tags(value->find("tags")));
      // Informational fields: any scalar will do (`release: 1.0` is as clear as `release: '1.0'`).
      if (const YamlNode* n = value->find("model")) {
        AIRLOCK_ASSIGN_OR_RETURN(profile.model, scalar_text(*n, "model"));
      }
      if (const YamlNode* n = value->find("release")) {
        AIRLOCK_ASSIGN_OR_RETURN(profile.release, scalar_text(*n, "release"));
      }
      if (const YamlNode* n = value->find("container_url")) {
        AIRLOCK_ASSIGN_OR_RETURN(profile.container_url, scalar_text(*n, "container_url"));
      }
      if (const YamlNode* workspace = value->find("workspace"); workspace != nullptr && !workspace->is_null()) {
        AIRLOCK_TRY(read_v1_workspace(*workspace, profile));
      }
      manifest.profiles.push_back(std::move(profile));
    }
    return ok_status();
  }

  Status read_v1_workspace(const YamlNode& workspace, Profile& profile) {
    if (!workspace.is_mapping()) return error(workspace, "workspace must be a mapping with 'components'");
    const YamlNode* components = workspace.find("components");
    if (components == nullptr || components->is_null()) return ok_status();
    if (!components->is_sequence()) return error(*components, "workspace components must be a list");
    std::set<std::string> seen;
    for (const auto& component : components->items) {
      if (!component->is_mapping()) return error(*component, "a workspace component must be a mapping with 'dst' and 'src'");
      std::string dst;
      if (const YamlNode* n = component->find("dst"); n != nullptr && !n->is_null()) {
        AIRLOCK_ASSIGN_OR_RETURN(dst, string_value(*n, "dst"));
        if (!dst.empty()) {
          if (auto status = validate_relative_path(dst, "component dst"); !status.ok()) {
            return error(*n, status.error().message());
          }
        }
      }
      AIRLOCK_ASSIGN_OR_RETURN(const YamlNode* src, required(*component, "src", "a workspace component"));
      if (!src->is_mapping()) return error(*src, "src must be a mapping with 'repo_id' and 'files'");
      std::string repo;
      if (const YamlNode* n = src->find("repo_id"); n != nullptr && !n->is_null()) {
        AIRLOCK_ASSIGN_OR_RETURN(repo, string_value(*n, "repo_id"));
        if (repo.find("://") == std::string::npos) repo = "ngc://" + repo;
      }
      const YamlNode* files = src->find("files");
      if (files == nullptr || files->is_null()) continue;
      if (!files->is_sequence()) return error(*files, "src files must be a list");
      for (const auto& entry : files->items) {
        // Entries are plain strings, `!name 'file'` scalars, or one-key maps whose key is the name.
        const YamlNode* name_node = entry.get();
        if (entry->is_mapping()) {
          if (entry->entries.size() != 1) return error(*entry, "a file entry map must have exactly one key (the file name)");
          name_node = entry->entries.front().first.get();
        }
        AIRLOCK_ASSIGN_OR_RETURN(std::string name, string_value(*name_node, "a file name"));
        std::string path = dst.empty() ? name : dst + "/" + name;
        std::string uri = repo.empty() ? std::string() : repo + "?file=" + percent_encode(name, "/");
        AIRLOCK_TRY(add_file(profile, *name_node, std::move(path), std::move(uri), seen));
      }
    }
    return ok_status();
  }

  // --- NIM v2 and airlock/1: { schema_version, profiles: [{id, tags, workspace: {files: {path: {uri}}}}] }
  Status read_profile_list(const YamlNode& root, ManifestFormat format, Manifest& manifest) {
    bool strict = format == ManifestFormat::kAirlock;
    if (strict) {
      AIRLOCK_TRY(reject_unknown_keys(root, {"schema_version", "model", "profiles"}, "the manifest"));
      if (const YamlNode* model = root.find("model"); model != nullptr && !model->is_null()) {
        if (!model->is_mapping()) return error(*model, "model must be a mapping with 'name' and 'kind'");
        AIRLOCK_TRY(reject_unknown_keys(*model, {"name", "kind"}, "model"));
        if (const YamlNode* n = model->find("name")) {
          AIRLOCK_ASSIGN_OR_RETURN(manifest.model.name, string_value(*n, "model name"));
        }
        if (const YamlNode* n = model->find("kind")) {
          AIRLOCK_ASSIGN_OR_RETURN(manifest.model.kind, string_value(*n, "model kind"));
        }
      }
    }
    AIRLOCK_ASSIGN_OR_RETURN(const YamlNode* profiles, required(root, "profiles", "the manifest"));
    if (!profiles->is_sequence()) return error(*profiles, fmt::format("profiles must be a list, not a {}", yaml_type_name(*profiles)));
    AIRLOCK_TRY(check_profile_count(*profiles, profiles->items.size()));
    for (const auto& node : profiles->items) {
      if (!node->is_mapping()) return error(*node, "a profile must be a mapping with 'id', 'tags' and 'workspace'");
      if (strict) AIRLOCK_TRY(reject_unknown_keys(*node, {"id", "tags", "workspace"}, "a profile"));
      Profile profile;
      profile.format = format;
      profile.location = doc_.where(*node);
      AIRLOCK_ASSIGN_OR_RETURN(profile.tags, read_tags(node->find("tags")));
      if (const YamlNode* workspace = node->find("workspace"); workspace != nullptr && !workspace->is_null()) {
        AIRLOCK_TRY(read_v2_workspace(*workspace, profile, strict));
      }
      const YamlNode* id_node = node->find("id");
      if (id_node != nullptr) {
        AIRLOCK_ASSIGN_OR_RETURN(profile.id, string_value(*id_node, "profile id"));
        AIRLOCK_TRY(check_id(*id_node, profile.id));
      } else if (strict) {
        profile.id = compute_profile_id(profile);
        AIRLOCK_TRY(check_id(*node, profile.id));
      } else {
        return error(*node, "profile has no 'id'");
      }
      manifest.profiles.push_back(std::move(profile));
    }
    return ok_status();
  }

  Status read_v2_workspace(const YamlNode& workspace, Profile& profile, bool strict) {
    if (!workspace.is_mapping()) return error(workspace, "workspace must be a mapping with 'files'");
    if (strict) AIRLOCK_TRY(reject_unknown_keys(workspace, {"files"}, "workspace"));
    const YamlNode* files = workspace.find("files");
    if (files == nullptr || files->is_null()) return ok_status();
    if (!files->is_mapping()) return error(*files, "workspace files must be a mapping of path to {uri: ...}");
    std::set<std::string> seen;
    for (const auto& [key, value] : files->entries) {
      AIRLOCK_ASSIGN_OR_RETURN(std::string path, string_value(*key, "a workspace file path"));
      if (!value->is_mapping()) return error(*value, fmt::format("file '{}' must be a mapping with 'uri'", path));
      if (strict) AIRLOCK_TRY(reject_unknown_keys(*value, {"uri", "sha256", "size"}, fmt::format("file '{}'", path)));
      AIRLOCK_ASSIGN_OR_RETURN(const YamlNode* uri_node, required(*value, "uri", fmt::format("file '{}'", path)));
      AIRLOCK_ASSIGN_OR_RETURN(std::string uri, string_value(*uri_node, "uri"));
      if (uri.empty()) return error(*uri_node, fmt::format("file '{}' has an empty uri", path));
      if (auto parsed = parse_uri(uri); !parsed.ok()) return error(*uri_node, parsed.error().message());
      AIRLOCK_TRY(add_file(profile, *key, path, uri, seen));
      ProfileFile& file = profile.files.back();
      if (const YamlNode* n = value->find("sha256"); n != nullptr && !n->is_null()) {
        AIRLOCK_ASSIGN_OR_RETURN(std::string digest, string_value(*n, "sha256"));
        if (!is_lower_hex(digest, 64)) return error(*n, "sha256 must be 64 lowercase hex digits");
        file.sha256 = digest;
      }
      if (const YamlNode* n = value->find("size"); n != nullptr && !n->is_null()) {
        if (!n->is_scalar() || n->scalar_type() != YamlScalarType::kInt || n->scalar.find_first_not_of("0123456789") != std::string::npos ||
            n->scalar.size() > 19) {
          return error(*n, "size must be a non-negative whole number of bytes");
        }
        file.size = std::stoull(n->scalar);
      }
    }
    return ok_status();
  }

  // --- legacy wrapped: { model_profile: X, manifest: [{id, tags}] } (or manifest as a map by id)
  Status read_legacy(const YamlNode& root, Manifest& manifest) {
    const YamlNode& list = *root.find("manifest");
    if (const YamlNode* name = root.find("model_profile"); name != nullptr && name->is_scalar()) {
      manifest.model.name = name->scalar;
    }
    if (list.is_mapping()) {
      // Some images wrap a v1 map.
      return read_v1(list, manifest);
    }
    if (!list.is_sequence()) return error(list, "manifest must be a list of {id, tags}");
    AIRLOCK_TRY(check_profile_count(list, list.items.size()));
    for (const auto& node : list.items) {
      if (!node->is_mapping()) return error(*node, "a manifest entry must be a mapping with 'id' and 'tags'");
      Profile profile;
      profile.format = ManifestFormat::kLegacyWrapped;
      profile.location = doc_.where(*node);
      AIRLOCK_ASSIGN_OR_RETURN(const YamlNode* id_node, required(*node, "id", "a manifest entry"));
      AIRLOCK_ASSIGN_OR_RETURN(profile.id, string_value(*id_node, "profile id"));
      AIRLOCK_TRY(check_id(*id_node, profile.id));
      AIRLOCK_ASSIGN_OR_RETURN(profile.tags, read_tags(node->find("tags")));
      manifest.profiles.push_back(std::move(profile));
    }
    return ok_status();
  }

  Status reject_unknown_keys(const YamlNode& node, std::initializer_list<std::string_view> known,
                             std::string_view what) const {
    for (const auto& [key, value] : node.entries) {
      if (!key->is_scalar() || std::find(known.begin(), known.end(), key->scalar) == known.end()) {
        std::string names;
        for (std::string_view k : known) names += (names.empty() ? "" : ", ") + std::string(k);
        return error(*key, fmt::format("unknown key '{}' in {} (expected: {})", key->scalar, what, names));
      }
    }
    return ok_status();
  }

  const YamlDocument& doc_;
  const ManifestLimits& limits_;
  mutable std::set<std::string> ids_;
};

bool is_manifest_file_name(const fs::path& path) {
  std::string ext = path.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

}  // namespace

std::string_view manifest_format_name(ManifestFormat format) {
  switch (format) {
    case ManifestFormat::kNimV1: return "nim-v1";
    case ManifestFormat::kNimV2: return "nim-v2";
    case ManifestFormat::kLegacyWrapped: return "nim-legacy";
    case ManifestFormat::kAirlock: return "airlock/1";
  }
  return "unknown";
}

std::optional<std::string> Profile::tag(std::string_view key) const {
  for (const auto& [k, v] : tags) {
    if (k == key) return v;
  }
  return std::nullopt;
}

bool Profile::tag_is_true(std::string_view key) const {
  auto value = tag(key);
  return value && iequals(*value, "true");
}

const Profile* Manifest::find_by_id(std::string_view id) const {
  for (const Profile& p : profiles) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

Result<Manifest> parse_manifest(std::string_view text, std::string_view source, const ManifestLimits& limits) {
  YamlLimits yaml_limits;
  yaml_limits.max_bytes = limits.max_file_bytes;
  AIRLOCK_ASSIGN_OR_RETURN(YamlDocument document, parse_yaml(text, source, yaml_limits));
  ManifestReader reader(document, limits);
  return reader.read();
}

Result<Manifest> load_manifest_file(const fs::path& path, const ManifestLimits& limits) {
  auto text = read_file_limited(path, limits.max_file_bytes);
  if (!text.ok()) return text.error().with_context("reading manifest");
  return parse_manifest(*text, path.string(), limits);
}

Result<Manifest> load_manifest_dir(const fs::path& dir, const ManifestLimits& limits) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && is_manifest_file_name(entry.path())) files.push_back(entry.path());
  }
  if (ec) return errno_error(fmt::format("cannot read manifest directory {}", dir.string()), ec.value());
  if (files.empty()) {
    return not_found(fmt::format("manifest directory {} has no *.yaml, *.yml or *.json files", dir.string()));
  }
  std::sort(files.begin(), files.end());
  Manifest merged;
  std::map<std::string, std::string> defined_at;
  for (const fs::path& file : files) {
    AIRLOCK_ASSIGN_OR_RETURN(Manifest one, load_manifest_file(file, limits));
    merged.sources.push_back(file.string());
    if (merged.model.name.empty()) merged.model = one.model;
    for (Profile& profile : one.profiles) {
      auto [it, inserted] = defined_at.emplace(profile.id, profile.location);
      if (!inserted) {
        return parse_error(fmt::format("{}: duplicate profile id '{}' (first defined at {})", profile.location,
                                       profile.id, it->second));
      }
      merged.profiles.push_back(std::move(profile));
    }
    if (merged.profiles.size() > limits.max_profiles) {
      return parse_error(fmt::format("{}: more than {} profiles in the manifest directory", dir.string(), limits.max_profiles));
    }
  }
  return merged;
}

Result<Manifest> load_manifest(const ManifestSource& source) {
  if (source.file) return load_manifest_file(*source.file);
  if (source.dir) return load_manifest_dir(*source.dir);
  if (auto env = get_env("NIM_MANIFEST_PATH")) {
    fs::path path(*env);
    if (fs::is_directory(path)) return load_manifest_dir(path);
    return load_manifest_file(path);
  }
  for (const char* candidate : kImageManifestPaths) {
    if (fs::is_regular_file(candidate)) return load_manifest_file(candidate);
  }
  return not_found("no model manifest: pass --manifest/-m FILE or --manifest-dir DIR, or set NIM_MANIFEST_PATH");
}

std::string compute_profile_id(const Profile& profile) {
  nlohmann::json canonical;  // std::map-backed: keys come out sorted
  nlohmann::json tags = nlohmann::json::object();
  for (const auto& [key, value] : profile.tags) tags[key] = value;
  std::vector<const ProfileFile*> files;
  for (const ProfileFile& file : profile.files) files.push_back(&file);
  std::sort(files.begin(), files.end(), [](const ProfileFile* a, const ProfileFile* b) { return a->path < b->path; });
  nlohmann::json file_list = nlohmann::json::array();
  for (const ProfileFile* file : files) {
    nlohmann::json item;
    item["path"] = file->path;
    item["uri"] = file->uri;
    if (file->sha256) item["sha256"] = *file->sha256;
    if (file->size) item["size"] = *file->size;
    file_list.push_back(std::move(item));
  }
  canonical["files"] = std::move(file_list);
  canonical["tags"] = std::move(tags);
  return sha256_hex(canonical.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Json manifest_to_json(const Manifest& manifest) {
  Json out;
  out["schema_version"] = kAirlockSchemaVersion;
  if (!manifest.model.name.empty() || !manifest.model.kind.empty()) {
    out["model"]["name"] = manifest.model.name;
    out["model"]["kind"] = manifest.model.kind;
  }
  out["profiles"] = Json::array();
  for (const Profile& profile : manifest.profiles) {
    Json item;
    item["id"] = profile.id;
    item["tags"] = Json::object();
    for (const auto& [key, value] : profile.tags) item["tags"][key] = value;
    Json files = Json::object();
    for (const ProfileFile& file : profile.files) {
      Json entry;
      entry["uri"] = file.uri;
      if (file.sha256) entry["sha256"] = *file.sha256;
      if (file.size) entry["size"] = *file.size;
      files[file.path] = std::move(entry);
    }
    item["workspace"]["files"] = std::move(files);
    out["profiles"].push_back(std::move(item));
  }
  return out;
}

}  // namespace airlock::profiles
