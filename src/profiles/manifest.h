// Model manifests: the list of profiles (engine + precision + parallelism + GPU variants of one
// model) and the files each profile needs. Reads NIM's v1, v2 and legacy wrapped forms and
// airlock's own, into one model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json.h"
#include "core/result.h"

namespace airlock::profiles {

enum class ManifestFormat {
  kNimV1,          // map keyed by profile id, `workspace: !workspace {components: ...}`
  kNimV2,          // `schema_version: 2.x`, `profiles: [{id, tags, workspace: {files: {path: {uri}}}}]`
  kLegacyWrapped,  // `model_profile: X`, `manifest: [{id, tags}]`
  kAirlock,        // `schema_version: airlock/1`: the v2 shape, any source URI, optional sha256/size
};

std::string_view manifest_format_name(ManifestFormat format);

// The schema_version airlock writes into its own manifests.
inline constexpr std::string_view kAirlockSchemaVersion = "airlock/1";

struct ProfileFile {
  std::string path;  // where the file goes, relative to the profile's workspace (validated)
  std::string uri;   // where it comes from: ngc://, hf://, https://, s3://, ..., or a local path
  std::optional<std::string> sha256;  // lowercase hex, when the manifest promises one
  std::optional<std::uint64_t> size;
};

using Tags = std::vector<std::pair<std::string, std::string>>;

struct Profile {
  std::string id;  // opaque: copied from the manifest, never recomputed (except airlock's own, when absent)
  Tags tags;       // in manifest order
  std::string model;          // v1 `model` (e.g. "meta/llama3-70b-instruct"), if given
  std::string release;        // v1 `release`
  std::string container_url;  // v1 `container_url`
  std::vector<ProfileFile> files;
  ManifestFormat format = ManifestFormat::kNimV2;
  std::string location;  // "file:line:column" of the profile, for messages

  // The value of tag `key`, or nullopt.
  std::optional<std::string> tag(std::string_view key) const;
  // True when the tag is present and says "true" (any case).
  bool tag_is_true(std::string_view key) const;
};

struct ModelInfo {
  std::string name;  // airlock manifests: e.g. "BAAI/bge-small-en-v1.5"
  std::string kind;  // embedding | reranker | llm | ...
};

struct Manifest {
  std::vector<std::string> sources;  // files read, in order
  ModelInfo model;
  std::vector<Profile> profiles;  // in manifest order

  const Profile* find_by_id(std::string_view id) const;
};

struct ManifestLimits {
  std::uint64_t max_file_bytes = 64u << 20;
  std::size_t max_profiles = 10'000;
  std::size_t max_files_per_profile = 100'000;
};

// Parses one manifest. `source` names it in errors; every error carries source:line:column.
Result<Manifest> parse_manifest(std::string_view text, std::string_view source, const ManifestLimits& limits = {});

// Reads a manifest file (YAML or JSON).
Result<Manifest> load_manifest_file(const std::filesystem::path& path, const ManifestLimits& limits = {});

// Reads every *.yaml, *.yml and *.json file of `dir` (sorted by name) into one manifest. A
// profile id defined in two files is an error naming both places.
Result<Manifest> load_manifest_dir(const std::filesystem::path& dir, const ManifestLimits& limits = {});

// Where the manifest comes from: --manifest/-m, else --manifest-dir, else $NIM_MANIFEST_PATH
// (a file or a directory), else the paths where NIM images keep theirs.
struct ManifestSource {
  std::optional<std::filesystem::path> file;
  std::optional<std::filesystem::path> dir;
};
Result<Manifest> load_manifest(const ManifestSource& source);

// The id airlock gives a profile of its own manifests: sha256 of the canonical JSON (sorted
// keys, no spaces) of {"files": [{path, uri, sha256?, size?} sorted by path], "tags": {...}}.
std::string compute_profile_id(const Profile& profile);

// airlock's own manifest format, as written by airlock (e.g. by download-to-cache --model-uri).
Json manifest_to_json(const Manifest& manifest);

}  // namespace airlock::profiles
