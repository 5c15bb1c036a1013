#include "fetch/hub_responses.h"

#include <fmt/format.h>

#include "core/hex.h"
#include "core/json.h"
#include "core/paths.h"

namespace airlock::fetch {
namespace {

constexpr std::size_t kMaxBody = 64u << 20;
constexpr std::size_t kMaxEntries = 1'000'000;

Result<Json> parse_body(std::string_view body, std::string_view source) {
  if (body.size() > kMaxBody) return parse_error(fmt::format("{}: answer of {} bytes is too large", source, body.size()));
  return parse_json(body, source);
}

std::optional<std::uint64_t> get_size(const Json& object, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    auto it = object.find(key);
    if (it != object.end() && it->is_number_unsigned()) return it->get<std::uint64_t>();
    if (it != object.end() && it->is_number_integer() && it->get<std::int64_t>() >= 0) {
      return static_cast<std::uint64_t>(it->get<std::int64_t>());
    }
  }
  return std::nullopt;
}

Status check_path(const std::string& path, std::string_view source) {
  if (Status valid = validate_relative_path(path, "file path"); !valid.ok()) {
    return parse_error(fmt::format("{}: {}", source, valid.error().message()));
  }
  return ok_status();
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

Result<HfFile> parse_hf_file(const Json& entry, const char* path_key, const char* lfs_hash_key, std::string_view where) {
  HfFile file;
  auto path = entry.find(path_key);
  if (path == entry.end() || !path->is_string()) return parse_error(fmt::format("{}: entry without \"{}\"", where, path_key));
  file.path = path->get<std::string>();
  AIRLOCK_TRY(check_path(file.path, where));
  file.size = get_size(entry, {"size"});
  for (const char* key : {"blobId", "oid"}) {
    if (auto it = entry.find(key); it != entry.end() && it->is_string()) {
      std::string id = lower(it->get<std::string>());
      if (!is_lower_hex(id, 40)) return parse_error(fmt::format("{}: {} of '{}' is not a 40-hex git id", where, key, file.path));
      file.blob_id = id;
      break;
    }
  }
  if (auto lfs = entry.find("lfs"); lfs != entry.end() && lfs->is_object()) {
    auto hash = lfs->find(lfs_hash_key);
    if (hash == lfs->end() || !hash->is_string()) {
      return parse_error(fmt::format("{}: LFS file '{}' has no {}", where, file.path, lfs_hash_key));
    }
    std::string sha = lower(hash->get<std::string>());
    if (!is_lower_hex(sha, 64)) return parse_error(fmt::format("{}: LFS sha256 of '{}' is not 64 hex digits", where, file.path));
    file.lfs_sha256 = sha;
    if (auto size = get_size(*lfs, {"size"})) file.size = size;
  }
  return file;
}

}  // namespace

Result<NgcFilePage> parse_ngc_file_page(std::string_view body, std::string_view source) {
  AIRLOCK_ASSIGN_OR_RETURN(Json json, parse_body(body, source));
  if (!json.is_object()) return parse_error(fmt::format("{}: expected a JSON object", source));
  if (auto status = json.find("requestStatus"); status != json.end() && status->is_object()) {
    auto code = status->find("statusCode");
    if (code != status->end() && code->is_string() && code->get<std::string>() != "SUCCESS") {
      std::string description;
      if (auto d = status->find("statusDescription"); d != status->end() && d->is_string()) description = d->get<std::string>();
      return Error(ErrorCode::kUnavailable,
                   fmt::format("{}: NGC answered {}{}", source, code->get<std::string>(), description.empty() ? "" : ": " + description));
    }
  }
  NgcFilePage page;
  if (auto info = json.find("paginationInfo"); info != json.end() && info->is_object()) {
    if (auto total = info->find("totalPages"); total != info->end() && total->is_number_integer()) {
      page.total_pages = std::max(1, std::min(total->get<int>(), 100000));
    }
  }
  auto files = json.find("modelFiles");
  if (files != json.end() && files->is_array()) {
    if (files->size() > kMaxEntries) return parse_error(fmt::format("{}: too many files", source));
    for (const auto& entry : *files) {
      if (!entry.is_object() || !entry.contains("path") || !entry["path"].is_string()) {
        return parse_error(fmt::format("{}: modelFiles entry without a path", source));
      }
      NgcFile file;
      file.path = entry["path"].get<std::string>();
      AIRLOCK_TRY(check_path(file.path, source));
      file.size = get_size(entry, {"sizeInBytes", "size"});
      page.files.push_back(std::move(file));
    }
    return page;
  }
  auto paths = json.find("filepath");
  auto urls = json.find("urls");
  if (paths != json.end() && paths->is_array()) {
    if (urls == json.end() || !urls->is_array() || urls->size() != paths->size()) {
      return parse_error(fmt::format("{}: filepath[] and urls[] differ in length", source));
    }
    for (std::size_t i = 0; i < paths->size(); ++i) {
      if (!(*paths)[i].is_string() || !(*urls)[i].is_string()) return parse_error(fmt::format("{}: non-string file entry", source));
      NgcFile file;
      file.path = (*paths)[i].get<std::string>();
      AIRLOCK_TRY(check_path(file.path, source));
      file.presigned_url = (*urls)[i].get<std::string>();
      if (!file.presigned_url.starts_with("https://") && !file.presigned_url.starts_with("http://")) {
        return parse_error(fmt::format("{}: the download URL of '{}' is not http(s)", source, file.path));
      }
      page.files.push_back(std::move(file));
    }
    return page;
  }
  return parse_error(fmt::format("{}: no modelFiles (V2) or filepath/urls (V1) in the answer", source));
}

Result<NgcToken> parse_ngc_token(std::string_view body, std::string_view source) {
  AIRLOCK_ASSIGN_OR_RETURN(Json json, parse_body(body, source));
  auto token = json.is_object() ? json.find("token") : json.end();
  if (!json.is_object() || token == json.end() || !token->is_string() || token->get<std::string>().empty()) {
    return parse_error(fmt::format("{}: the auth service's answer has no token", source));
  }
  NgcToken out;
  out.token = token->get<std::string>();
  if (out.token.find_first_of("\r\n ") != std::string::npos) {
    return parse_error(fmt::format("{}: the token contains whitespace", source));
  }
  if (auto expires = json.find("expires_in"); expires != json.end() && expires->is_number_integer()) {
    out.expires_in = expires->get<long>();
  }
  return out;
}

Result<HfRevisionInfo> parse_hf_revision_info(std::string_view body, std::string_view source) {
  AIRLOCK_ASSIGN_OR_RETURN(Json json, parse_body(body, source));
  if (!json.is_object()) return parse_error(fmt::format("{}: expected a JSON object", source));
  HfRevisionInfo info;
  auto sha = json.find("sha");
  if (sha == json.end() || !sha->is_string() || !is_lower_hex(lower(sha->get<std::string>()), 40)) {
    return parse_error(fmt::format("{}: no 40-hex \"sha\" (the commit) in the answer", source));
  }
  info.sha = lower(sha->get<std::string>());
  info.sizes_known = true;
  if (auto siblings = json.find("siblings"); siblings != json.end() && siblings->is_array()) {
    if (siblings->size() > kMaxEntries) return parse_error(fmt::format("{}: too many files", source));
    for (const auto& entry : *siblings) {
      if (!entry.is_object()) return parse_error(fmt::format("{}: a sibling is not an object", source));
      AIRLOCK_ASSIGN_OR_RETURN(HfFile file, parse_hf_file(entry, "rfilename", "sha256", source));
      if (!file.size || file.blob_id.empty()) info.sizes_known = false;
      info.siblings.push_back(std::move(file));
    }
  } else {
    info.sizes_known = false;
  }
  return info;
}

Result<std::vector<HfFile>> parse_hf_tree_page(std::string_view body, std::string_view source) {
  AIRLOCK_ASSIGN_OR_RETURN(Json json, parse_body(body, source));
  if (!json.is_array()) return parse_error(fmt::format("{}: expected a JSON array of tree entries", source));
  if (json.size() > kMaxEntries) return parse_error(fmt::format("{}: too many entries", source));
  std::vector<HfFile> files;
  for (const auto& entry : json) {
    if (!entry.is_object()) return parse_error(fmt::format("{}: a tree entry is not an object", source));
    auto type = entry.find("type");
    if (type != entry.end() && type->is_string() && type->get<std::string>() != "file") continue;
    AIRLOCK_ASSIGN_OR_RETURN(HfFile file, parse_hf_file(entry, "path", "oid", source));
    files.push_back(std::move(file));
  }
  return files;
}

std::optional<std::string> parse_link_next(std::string_view link) {
  // Link: <url>; rel="next", <url2>; rel="last"
  std::size_t at = 0;
  while (at < link.size()) {
    std::size_t open = link.find('<', at);
    if (open == std::string_view::npos) return std::nullopt;
    std::size_t close = link.find('>', open);
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view url = link.substr(open + 1, close - open - 1);
    std::size_t next = link.find('<', close);
    std::string_view params = link.substr(close + 1, next == std::string_view::npos ? std::string_view::npos : next - close - 1);
    std::string lowered = lower(std::string(params));
    std::string compact;
    for (char c : lowered) {
      if (c != ' ' && c != '"' && c != '\t') compact += c;
    }
    if (compact.find("rel=next") != std::string::npos) return std::string(url);
    if (next == std::string_view::npos) return std::nullopt;
    at = next;
  }
  return std::nullopt;
}

std::string normalize_etag(std::string_view etag) {
  while (!etag.empty() && (etag.front() == ' ' || etag.front() == '\t')) etag.remove_prefix(1);
  while (!etag.empty() && (etag.back() == ' ' || etag.back() == '\t')) etag.remove_suffix(1);
  if (etag.starts_with("W/")) etag.remove_prefix(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return std::string(etag);
}

}  // namespace airlock::fetch
