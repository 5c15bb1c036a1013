// The NIM repository-override layout: what an unmodified NIM container reads when started with
// NIM_REPOSITORY_OVERRIDE=s3://bucket/ instead of NGC. Every file of a manifest sits at the
// bucket root under its source URI minus "ngc://", fully percent-encoded ('/', ':', '?', '=' too):
//
//   ngc://nim/meta/llama3-8b-instruct:hf?file=config.json
//     -> nim%2Fmeta%2Fllama3-8b-instruct%3Ahf%3Ffile%3Dconfig.json
//
// airlock adds what NIM ignores and a pull needs: the profile records under .airlock/profiles/
// and the store index (written last, with every object's sha256), so that a pull verifies every
// byte and rebuilds the cache with its records.
//
// This file knows keys, the store and local files; which cache files belong to which source URI,
// and where pulled files go in a cache, is the caller's business (the CLI, which links cache).
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/store.h"
#include "sync/pull.h"
#include "sync/push.h"

namespace airlock::sync {

inline constexpr std::string_view kRepositoryOverrideLayout = "nim-repository-override";

// The object key of a source URI. Only ngc:// URIs have one (NIM overrides NGC only).
Result<std::string> repository_override_key(std::string_view source_uri);
// The source URI an object key stands for; kInvalidArgument for keys that are not one.
Result<std::string> repository_override_uri(std::string_view key);

struct OverrideFile {
  std::string source_uri;       // ngc://org/team/model:version?file=path
  std::filesystem::path local;  // its bytes (a snapshot entry: symlinks are followed)
};

struct OverrideExtra {
  std::string key;  // ".airlock/profiles/<id>.json"
  std::filesystem::path local;
};

// Uploads `files` at their override keys and `extras` at theirs, then the index, with push's
// guarantees (only what the store lacks or has wrong; resumable; the index last). `staging` is an
// empty scratch directory (a tree of links the push reads through), removed afterwards.
Result<PushSummary> push_repository_override(const std::vector<OverrideFile>& files,
                                             const std::vector<OverrideExtra>& extras, store::Store& store,
                                             PushOptions options, const std::filesystem::path& staging);

struct OverrideObject {
  std::string key;
  std::string source_uri;
  std::filesystem::path staged;  // the verified file, in the staging directory
  std::uint64_t size = 0;
  std::string sha256;  // from the index; empty for a store pushed by other tools
};

struct OverridePull {
  PullSummary summary;
  std::vector<OverrideObject> objects;        // every key that is an override key
  std::vector<std::filesystem::path> extras;  // other files (the .airlock/profiles records), staged
  std::vector<std::string> ignored;           // keys that are neither, left out
};

struct OverridePullOptions : PullOptions {
  // Where objects land first: a directory inside the destination cache, so that the caller
  // moves them into place with a rename; kept between runs so that an interrupted pull resumes.
  std::filesystem::path staging;
  // A local file that may already hold the bytes of object `key` (`source_uri` for override
  // keys, empty for the records): the cache's blob or record from an earlier pull, linked into the
  // staging directory so that the pull checks it (sha256 from the index) instead of fetching it.
  std::function<std::optional<std::filesystem::path>(const std::string& key, const std::string& source_uri)> existing;
};

// Pulls the store into options.staging, verified against the index like any pull.
Result<OverridePull> pull_repository_override(store::Store& store, const OverridePullOptions& options);

}  // namespace airlock::sync
