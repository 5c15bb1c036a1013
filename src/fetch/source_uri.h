// The source URIs of manifest files, parsed into what a fetcher needs:
//   ngc://<org>/[<team>/]<model>:<version>[?file=<path>]   an NGC model version or one file of it
//   hf://<org>/<name>[:<revision>][?file=<path>]           a Hugging Face repo (revision "main") or a file
//   https://… and http://…                                  a plain file
//   file:///abs/path, /abs/path, relative/path             a local file (relative to the manifest)
// Object-store schemes (s3://, gs://, …) are recognised and refused with a clear error until the
// store library serves them.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace airlock::fetch {

enum class SourceKind { kNgc, kHuggingFace, kHttp, kLocal };

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
  std::string url;       // http(s): the URL; local: the path as written
};

// Errors name the URI and what is wrong with it; unsupported schemes are kUnsupported.
Result<SourceRef> parse_source_uri(std::string_view text);

}  // namespace airlock::fetch
