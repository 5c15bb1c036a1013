// The source URIs of manifest files, parsed into what a fetcher needs:
//   ngc://<org>/[<team>/]<model>:<version>[?file=<path>]   an NGC model version or one file of it
//   hf://<org>/<name>[:<revision>][?file=<path>]           a Hugging Face repo (revision "main") or a file
//   https://… and http://…                                  a plain file
//   file:///abs/path, /abs/path, relative/path             a local file (relative to the manifest)
//   s3://bucket/key, and any URI another store backend opens  one object of an object store
// Store URIs are whatever a backend of store_factory.h claims (an https:// URI only when a
// host-specific backend such as Azure Blob claims it before the generic web-server one). Store
// schemes no backend serves yet (gs://, hdfs://, ... until their backends exist) are refused with a
// clear error.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace airlock::fetch {

enum class SourceKind { kNgc, kHuggingFace, kHttp, kLocal, kStore };

std::string_view source_kind_name(SourceKind kind);

struct SourceRef {
  SourceKind kind = SourceKind::kLocal;
  std::string uri;  // as written in the manifest
  // NGC: "org/team/model" or "org/model"; Hugging Face: "org/name" (or "name").
  std::string repo;
  std::string org;
  std::string team;  // NGC only; empty for org-level models
  std::string model;
  std::string revision;  // NGC version (required); Hugging Face revision (default "main")
  std::string file;      // ?file=, validated as a relative path; empty for a whole version/repo
  std::string url;       // http(s): the URL; local: the path as written; store: the object's URI
  // Store: the URI of the folder that holds the object (opened with store::open_store) and the
  // object's key in it.
  std::string store_folder;
  std::string store_key;
  std::string store_backend;  // the backend's name in store::store_backends() ("s3", ...)
};

// Errors name the URI and what is wrong with it; unsupported schemes are kUnsupported.
Result<SourceRef> parse_source_uri(std::string_view text);

}  // namespace airlock::fetch
