#include "fetch/source_uri.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

#include "core/paths.h"
#include "core/redact.h"
#include "core/uri.h"
#include "store/store_factory.h"

namespace airlock::fetch {
namespace {

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t at = text.find(separator, start);
    if (at == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, at - start));
    start = at + 1;
  }
}

// Hub names: letters, digits, '-', '_', '.'; never "..", which both hubs refuse anywhere in a name.
bool is_name(std::string_view part) {
  return !part.empty() && part != "." && part.find("..") == std::string_view::npos && std::all_of(part.begin(), part.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// "<path>:<revision>?<query>" after the scheme, split and decoded.
struct Pieces {
  std::string path;
  std::string revision;
  std::string file;
  bool has_revision = false;
};

Result<Pieces> split_hub_uri(std::string_view uri, std::string_view rest) {
  Pieces pieces;
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  std::string_view path = rest;
  if (auto colon = rest.find(':'); colon != std::string_view::npos) {
    path = rest.substr(0, colon);
    AIRLOCK_ASSIGN_OR_RETURN(pieces.revision, percent_decode(rest.substr(colon + 1)));
    pieces.has_revision = true;
  }
  AIRLOCK_ASSIGN_OR_RETURN(pieces.path, percent_decode(path));
  for (std::string_view pair : split(query, '&')) {
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (key == "file") {
      AIRLOCK_ASSIGN_OR_RETURN(pieces.file, percent_decode(value));
      if (Status valid = validate_relative_path(pieces.file, "file"); !valid.ok()) {
        return invalid_argument(fmt::format("source '{}': {}", uri, valid.error().message()));
      }
    } else {
      return invalid_argument(fmt::format("source '{}': unknown query parameter '{}' (only file= is understood)", uri, key));
    }
  }
  return pieces;
}

Result<SourceRef> parse_ngc(std::string_view uri, std::string_view rest) {
  AIRLOCK_ASSIGN_OR_RETURN(Pieces pieces, split_hub_uri(uri, rest));
  auto parts = split(pieces.path, '/');
  if (parts.size() < 2 || parts.size() > 3 || !std::all_of(parts.begin(), parts.end(), is_name)) {
    return invalid_argument(fmt::format(
        "source '{}': an NGC model is ngc://<org>/[<team>/]<model>:<version> with names of letters, digits, '-', '_', '.'",
        uri));
  }
  if (!pieces.has_revision || pieces.revision.empty()) {
    return invalid_argument(fmt::format("source '{}' names no version: write ngc://{}:<version>", uri, pieces.path));
  }
  if (!validate_relative_path(pieces.revision, "version").ok() || pieces.revision.find('/') != std::string::npos) {
    return invalid_argument(fmt::format("source '{}': version '{}' is not a valid NGC version", uri, pieces.revision));
  }
  SourceRef ref;
  ref.kind = SourceKind::kNgc;
  ref.uri = std::string(uri);
  ref.repo = pieces.path;
  ref.org = std::string(parts[0]);
  if (parts.size() == 3) ref.team = std::string(parts[1]);
  ref.model = std::string(parts.back());
  ref.revision = pieces.revision;
  ref.file = pieces.file;
  return ref;
}

Result<SourceRef> parse_hf(std::string_view uri, std::string_view rest) {
  AIRLOCK_ASSIGN_OR_RETURN(Pieces pieces, split_hub_uri(uri, rest));
  auto parts = split(pieces.path, '/');
  if (!parts.empty() && (parts[0] == "datasets" || parts[0] == "spaces")) {
    return Error(ErrorCode::kUnsupported,
                 fmt::format("source '{}': Hugging Face {} are not model sources; download-to-cache takes models", uri, parts[0]));
  }
  if (parts.size() > 2 || !std::all_of(parts.begin(), parts.end(), is_name)) {
    return invalid_argument(
        fmt::format("source '{}': a Hugging Face model is hf://<org>/<name>[:<revision>][?file=<path>]", uri));
  }
  for (std::string_view part : parts) {
    if (part.find("--") != std::string_view::npos || part.front() == '-' || part.back() == '-') {
      return invalid_argument(fmt::format("source '{}': '{}' is not a valid Hugging Face repo name", uri, part));
    }
  }
  SourceRef ref;
  ref.kind = SourceKind::kHuggingFace;
  ref.uri = std::string(uri);
  ref.repo = pieces.path;
  ref.org = parts.size() == 2 ? std::string(parts[0]) : std::string();
  ref.model = std::string(parts.back());
  ref.revision = pieces.has_revision ? pieces.revision : "main";
  if (ref.revision.empty() || !validate_relative_path(ref.revision, "revision").ok()) {
    return invalid_argument(fmt::format("source '{}': revision '{}' is not valid", uri, ref.revision));
  }
  ref.file = pieces.file;
  return ref;
}

// The store backend that claims `uri`, unless it is one of the kinds fetched without a store
// (plain web servers and local files have their own, resumable, paths here).
const store::StoreBackend* store_backend_for(std::string_view text) {
  auto parsed = parse_uri(text);
  if (!parsed.ok()) return nullptr;
  for (const store::StoreBackend& backend : store::store_backends()) {
    if (!backend.matches(*parsed)) continue;
    if (backend.name == "https" || backend.name == "file") return nullptr;
    return &backend;
  }
  return nullptr;
}

Result<SourceRef> parse_store(std::string_view text, const store::StoreBackend& backend) {
  std::string_view path = text;
  std::string_view query;
  if (auto q = path.find('?'); q != std::string_view::npos) {
    query = path.substr(q);  // stays with the folder: a SAS token is a credential of the container
    path = path.substr(0, q);
  }
  if (auto hash = path.find('#'); hash != std::string_view::npos) path = path.substr(0, hash);
  const auto scheme_end = path.find("://");
  const auto slash = path.rfind('/');
  if (scheme_end == std::string_view::npos || slash == std::string_view::npos || slash <= scheme_end + 2 ||
      path.find('/', scheme_end + 3) == std::string_view::npos) {
    return invalid_argument(fmt::format("source '{}' names no object: write {}://<bucket>/<path to the file>",
                                        redact(text), path.substr(0, scheme_end)));
  }
  if (slash + 1 == path.size()) {
    return invalid_argument(
        fmt::format("source '{}' ends in '/': a workspace file needs one object, not a folder", redact(text)));
  }
  SourceRef ref;
  ref.kind = SourceKind::kStore;
  ref.uri = std::string(text);
  ref.url = std::string(path);
  ref.store_folder = std::string(path.substr(0, slash + 1)) + std::string(query);
  AIRLOCK_ASSIGN_OR_RETURN(ref.store_key, percent_decode(path.substr(slash + 1)));
  ref.store_backend = backend.name;
  if (Status valid = validate_relative_path(ref.store_key, "object name"); !valid.ok()) {
    return invalid_argument(fmt::format("source '{}': {}", redact(text), valid.error().message()));
  }
  return ref;
}

}  // namespace

std::string_view source_kind_name(SourceKind kind) {
  switch (kind) {
    case SourceKind::kNgc:
      return "ngc";
    case SourceKind::kHuggingFace:
      return "hf";
    case SourceKind::kHttp:
      return "https";
    case SourceKind::kLocal:
      return "file";
    case SourceKind::kStore:
      return "store";
  }
  return "unknown";
}

Result<SourceRef> parse_source_uri(std::string_view text) {
  if (text.empty()) return invalid_argument("a manifest file has an empty source URI");
  if (text.find_first_of(std::string_view("\0\r\n", 3)) != std::string_view::npos) {
    return invalid_argument(fmt::format("source '{}' contains a control character", redact(text)));
  }
  auto sep = text.find("://");
  std::string scheme;
  if (sep != std::string_view::npos) {
    scheme = std::string(text.substr(0, sep));
    std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  }
  std::string_view rest = sep == std::string_view::npos ? text : text.substr(sep + 3);
  if (scheme == "ngc") return parse_ngc(text, rest);
  if (scheme == "hf") return parse_hf(text, rest);
  if (!scheme.empty() && scheme != "file") {
    if (const store::StoreBackend* backend = store_backend_for(text)) return parse_store(text, *backend);
  }
  if (scheme == "http" || scheme == "https") {
    AIRLOCK_ASSIGN_OR_RETURN(Uri parsed, parse_uri(text));
    if (parsed.host.empty()) return invalid_argument(fmt::format("source '{}' has no host", redact(text)));
    SourceRef ref;
    ref.kind = SourceKind::kHttp;
    ref.uri = std::string(text);
    ref.url = std::string(text);
    return ref;
  }
  if (scheme == "file" || scheme.empty()) {
    SourceRef ref;
    ref.kind = SourceKind::kLocal;
    ref.uri = std::string(text);
    if (scheme == "file") {
      AIRLOCK_ASSIGN_OR_RETURN(ref.url, percent_decode(rest));
      if (!ref.url.starts_with('/')) {
        return invalid_argument(fmt::format("source '{}': a file:// URI needs an absolute path (file:///path)", text));
      }
    } else {
      ref.url = std::string(text);
    }
    return ref;
  }
  static constexpr std::array<std::string_view, 10> kStoreSchemes = {"s3", "gs", "gcs", "hdfs", "webhdfs", "swebhdfs",
                                                                     "az", "abfs", "abfss", "wasbs"};
  if (std::find(kStoreSchemes.begin(), kStoreSchemes.end(), scheme) != kStoreSchemes.end() || scheme == "oci" ||
      scheme == "modelscope") {
    return Error(ErrorCode::kUnsupported,
                 fmt::format("source '{}': not supported yet by download-to-cache: {} (no store backend serves this "
                             "scheme yet; mirror the files to s3://, https:// or a local path)",
                             redact(text), scheme));
  }
  return invalid_argument(fmt::format("source '{}': unknown scheme '{}' (use ngc://, hf://, https:// or a local path)",
                                      redact(text), scheme));
}

}  // namespace airlock::fetch
