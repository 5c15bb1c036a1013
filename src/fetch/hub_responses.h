// The JSON and header formats that NGC and the Hugging Face Hub answer with, parsed strictly:
// they are outside data, so every path is validated and every hash checked for shape before the
// rest of fetch uses them to name files. Pure functions (fuzzed by fuzz/hub_responses_fuzz.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace airlock::fetch {

// One page of GET /v2/org/<org>[/team/<team>]/models/<name>/versions/<version>/files.
// V2 storage lists `modelFiles[{path, sizeInBytes}]`; V1 storage parallel `filepath[]` and
// presigned `urls[]`.
struct NgcFile {
  std::string path;
  std::optional<std::uint64_t> size;
  std::string presigned_url;  // V1 storage only
};
struct NgcFilePage {
  std::vector<NgcFile> files;
  int total_pages = 1;
};
Result<NgcFilePage> parse_ngc_file_page(std::string_view body, std::string_view source);

// The token the NGC auth service returns: {"token": "...", "expires_in": 900}.
struct NgcToken {
  std::string token;
  std::optional<long> expires_in;
};
Result<NgcToken> parse_ngc_token(std::string_view body, std::string_view source);

// A file of a Hugging Face repo as the revision API (`siblings` with blobs=true) or the tree API
// describes it.
struct HfFile {
  std::string path;
  std::optional<std::uint64_t> size;
  std::string blob_id;                    // git blob sha1 (40 hex); "" when not given
  std::optional<std::string> lfs_sha256;  // LFS files: the sha256 of the content
};
struct HfRevisionInfo {
  std::string sha;  // the commit the revision resolves to
  std::vector<HfFile> siblings;
  bool sizes_known = false;  // every sibling came with size and blob id (blobs=true honoured)
};
Result<HfRevisionInfo> parse_hf_revision_info(std::string_view body, std::string_view source);
// One page of GET /api/models/<repo>/tree/<rev>?recursive=true: files only (directories skipped).
Result<std::vector<HfFile>> parse_hf_tree_page(std::string_view body, std::string_view source);

// The URL of `rel="next"` in a Link header, if any.
std::optional<std::string> parse_link_next(std::string_view link);

// An ETag or X-Linked-Etag value without a weak prefix and quotes.
std::string normalize_etag(std::string_view etag);

}  // namespace airlock::fetch
