#include "store/gcs_store.h"

#include <fmt/format.h>

#include <cstring>
#include <random>
#include <thread>

#include "core/env.h"
#include "core/hash.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/strings.h"
#include "core/uri.h"
#include "net/http_url.h"
#include "store/gcs_credentials.h"
#include "store/gcs_upload_sessions.h"
#include "store/http_transfer.h"
#include "store/s3_store.h"
#include "store/store_factory.h"

namespace airlock::store {
namespace {

constexpr std::uint64_t kChunkUnit = 256 * 1024;
constexpr std::uint64_t kDefaultChunk = 16 * kMiB;
constexpr std::size_t kMaxListBody = 32 * 1024 * 1024;
// Recoveries of one resumable upload (each asks the session how far it got, then continues).
constexpr int kMaxRecoveries = 6;

std::string string_field(const Json& json, const char* name) {
  if (!json.contains(name) || !json[name].is_string()) return "";
  return json[name].get<std::string>();
}

// A body made of a head, the source's bytes and a tail, read by position like any BodySource
// (multipart/related uploads put the object's metadata and boundaries around its bytes).
net::BodySource framed_body(std::string head, const ByteSource& source, std::string tail) {
  auto head_ptr = std::make_shared<const std::string>(std::move(head));
  auto tail_ptr = std::make_shared<const std::string>(std::move(tail));
  net::BodySource body;
  body.size = head_ptr->size() + source.size + tail_ptr->size();
  auto read = source.read;
  const std::uint64_t middle = source.size;
  body.read = [head_ptr, tail_ptr, read, middle](std::uint64_t offset, std::span<char> buffer) -> Result<std::size_t> {
    std::size_t written = 0;
    while (written < buffer.size()) {
      const std::uint64_t at = offset + written;
      std::span<char> rest = buffer.subspan(written);
      if (at < head_ptr->size()) {
        const std::size_t n = std::min<std::size_t>(rest.size(), head_ptr->size() - at);
        std::memcpy(rest.data(), head_ptr->data() + at, n);
        written += n;
      } else if (at < head_ptr->size() + middle) {
        const std::uint64_t in_source = at - head_ptr->size();
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(rest.size(), middle - in_source));
        AIRLOCK_ASSIGN_OR_RETURN(std::size_t n, read(in_source, rest.subspan(0, want)));
        if (n == 0) return io_error("the upload source ended early");
        written += n;
      } else {
        const std::uint64_t in_tail = at - head_ptr->size() - middle;
        if (in_tail >= tail_ptr->size()) break;
        const std::size_t n = std::min<std::size_t>(rest.size(), tail_ptr->size() - in_tail);
        std::memcpy(rest.data(), tail_ptr->data() + in_tail, n);
        written += n;
      }
    }
    return written;
  };
  return body;
}

// Reports the highest byte of the object read for sending so far (bytes handed to the socket),
// offset by where this body starts in the object.
net::BodySource with_progress(net::BodySource body, std::uint64_t base, std::uint64_t skip,
                              const std::function<void(std::uint64_t)>& progress) {
  if (!progress) return body;
  auto sent = std::make_shared<std::atomic<std::uint64_t>>(0);
  auto inner = body.read;
  const std::uint64_t total = body.size;
  body.read = [inner, sent, progress, base, skip, total](std::uint64_t offset,
                                                         std::span<char> buffer) -> Result<std::size_t> {
    auto n = inner(offset, buffer);
    if (n.ok()) {
      // Bytes of framing (skip at the start, the rest at the end) are not the object's.
      std::uint64_t reached = std::min(offset + *n, total);
      reached = reached > skip ? reached - skip : 0;
      reached += base;
      std::uint64_t previous = sent->load();
      while (reached > previous && !sent->compare_exchange_weak(previous, reached)) {
      }
      if (reached > previous) progress(reached);
    }
    return n;
  };
  return body;
}

std::string random_boundary() {
  std::random_device device;
  std::mt19937_64 rng(device());
  return fmt::format("airlock-{:016x}{:016x}", rng(), rng());
}

Json upload_metadata(const std::string& full_key, const WriteOptions& options) {
  Json metadata = {{"name", full_key}, {"contentType", options.content_type}};
  if (options.sha256) metadata["metadata"] = {{"sha256", *options.sha256}};
  return metadata;
}

}  // namespace

Result<GcsSettings> resolve_gcs_settings(const std::string& endpoint_flag) {
  GcsSettings settings;
  std::string endpoint;
  if (!endpoint_flag.empty()) {
    endpoint = endpoint_flag;
    settings.endpoint_source = "--endpoint-url";
  } else if (auto emulator = get_env("STORAGE_EMULATOR_HOST")) {
    endpoint = *emulator;
    settings.endpoint_source = "STORAGE_EMULATOR_HOST";
    settings.emulator = true;
  } else {
    endpoint = std::string(kGcsDefaultEndpoint);
    settings.endpoint_source = "default";
  }
  if (endpoint.find("://") == std::string::npos) endpoint = "http://" + endpoint;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  auto parsed = parse_uri(endpoint);
  if (!parsed.ok() || (parsed->scheme != "http" && parsed->scheme != "https") || parsed->host.empty()) {
    return invalid_argument(fmt::format("the GCS endpoint '{}' (from {}) is not an http(s)://host[:port] URL",
                                        redact(endpoint), settings.endpoint_source));
  }
  settings.endpoint = endpoint;
  return settings;
}

Status validate_gcs_bucket_name(std::string_view bucket) {
  const bool dotted = bucket.find('.') != std::string_view::npos;
  const std::size_t max = dotted ? 222 : 63;
  auto bad = [&](std::string_view why) {
    return invalid_argument(fmt::format("'{}' is not a valid GCS bucket name: {}", bucket, why));
  };
  if (bucket.size() < 3 || bucket.size() > max) return bad(fmt::format("it must have 3 to {} characters", max));
  for (char c : bucket) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) {
      return bad("only lowercase letters, digits, '-', '_' and '.' are allowed");
    }
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(bucket.front()) || !alnum(bucket.back())) return bad("it must start and end with a letter or digit");
  return ok_status();
}

std::uint64_t gcs_chunk_size(std::uint64_t preferred) {
  const std::uint64_t wanted = preferred == 0 ? kDefaultChunk : preferred;
  return std::max<std::uint64_t>(kChunkUnit, (wanted + kChunkUnit - 1) / kChunkUnit * kChunkUnit);
}

Result<std::uint64_t> gcs_persisted_bytes(const std::optional<std::string>& range_header) {
  if (!range_header || trim(*range_header).empty()) return std::uint64_t{0};
  std::string_view value = trim(*range_header);
  if (!value.starts_with("bytes=0-")) {
    return parse_error(fmt::format("a resumable upload answered with Range '{}', not bytes=0-N", value));
  }
  auto last = parse_u64(value.substr(8));
  if (!last) return parse_error(fmt::format("a resumable upload answered with Range '{}', not bytes=0-N", value));
  return *last + 1;
}

Result<ObjectInfo> parse_gcs_object(const Json& object) {
  if (!object.is_object()) return parse_error("a GCS object resource is not a JSON object");
  ObjectInfo info;
  info.key = string_field(object, "name");
  if (info.key.empty()) return parse_error("a GCS object resource has no name");
  // int64 fields are JSON strings in the API ("size": "123").
  std::optional<std::uint64_t> size;
  if (object.contains("size") && object["size"].is_string()) size = parse_u64(object["size"].get<std::string>());
  if (object.contains("size") && object["size"].is_number_unsigned()) size = object["size"].get<std::uint64_t>();
  if (!size) return parse_error(fmt::format("GCS object '{}' has no valid size", info.key));
  info.size = *size;
  info.etag = string_field(object, "etag");
  if (object.contains("metadata") && object["metadata"].is_object()) {
    std::string sha = string_field(object["metadata"], "sha256");
    if (is_lower_hex(sha, 64)) info.sha256 = sha;
  }
  return info;
}

Result<GcsListResult> parse_gcs_list(std::string_view body) {
  AIRLOCK_ASSIGN_OR_RETURN(Json json, parse_json(body, "GCS listing"));
  if (!json.is_object()) return parse_error("a GCS listing is not a JSON object");
  GcsListResult result;
  if (json.contains("items")) {
    if (!json["items"].is_array()) return parse_error("a GCS listing's items is not an array");
    for (const Json& item : json["items"]) {
      AIRLOCK_ASSIGN_OR_RETURN(ObjectInfo info, parse_gcs_object(item));
      result.objects.push_back(std::move(info));
    }
  }
  if (json.contains("prefixes")) {
    if (!json["prefixes"].is_array()) return parse_error("a GCS listing's prefixes is not an array");
    for (const Json& prefix : json["prefixes"]) {
      if (!prefix.is_string()) return parse_error("a GCS listing prefix is not a string");
      result.prefixes.push_back(prefix.get<std::string>());
    }
  }
  result.next_page_token = string_field(json, "nextPageToken");
  return result;
}

GcsStore::GcsStore(std::string bucket, std::string prefix, GcsSettings settings,
                   std::shared_ptr<TokenSource> credentials, std::shared_ptr<net::HttpClient> client,
                   GcsUploadSessions sessions)
    : bucket_(std::move(bucket)),
      prefix_(as_directory_prefix(prefix)),
      settings_(std::move(settings)),
      credentials_(std::move(credentials)),
      client_(std::move(client)),
      sessions_(std::move(sessions)) {}

std::string GcsStore::display_uri() const {
  return "gs://" + bucket_ + "/" + prefix_;
}

Capabilities GcsStore::capabilities() const {
  Capabilities caps;
  caps.sha256_metadata = true;
  return caps;
}

std::string GcsStore::object_url(std::string_view full_key) const {
  // Object names are one path segment in the JSON API: '/' is encoded too.
  return fmt::format("{}/storage/v1/b/{}/o/{}", settings_.endpoint, bucket_, percent_encode(full_key));
}

net::HttpRequest GcsStore::request(std::string method, std::string url) const {
  net::HttpRequest request;
  request.method = std::move(method);
  request.url = std::move(url);
  if (credentials_) {
    // Refreshed here, on the caller's thread; the signer on the event loop only reads it.
    std::optional<Error> failure;
    if (auto token = credentials_->get(); !token.ok()) failure = token.error();
    auto credentials = credentials_;
    request.signer = [credentials, failure](net::OutgoingRequest& out) -> Status {
      if (failure) return *failure;
      std::optional<std::string> token = credentials->current();
      if (!token) return Error(ErrorCode::kUnauthenticated, "no Google access token was obtained");
      out.headers.set("Authorization", "Bearer " + *token);
      return ok_status();
    };
  }
  return request;
}

Error GcsStore::error_for(const net::HttpResponse& response, std::string_view full_key) const {
  std::string message_text;
  std::string reason;
  if (auto json = parse_json(response.body, "GCS error"); json.ok() && json->is_object() && json->contains("error")) {
    const Json& error = (*json)["error"];
    if (error.is_object()) {
      message_text = string_field(error, "message");
      if (error.contains("errors") && error["errors"].is_array() && !error["errors"].empty() &&
          error["errors"][0].is_object()) {
        reason = string_field(error["errors"][0], "reason");
      }
    } else if (error.is_string()) {
      message_text = error.get<std::string>();
    }
  }
  const std::string where = fmt::format("{} gs://{}/{}", response.method, bucket_, full_key);
  std::string detail = fmt::format("HTTP {} {}", response.status, response.reason);
  if (!message_text.empty()) detail += ": " + message_text;
  ErrorCode code = net::error_code_for_status(response.status);
  std::string hint;
  if (response.status == 401) {
    code = ErrorCode::kUnauthenticated;
    hint = credentials_ ? fmt::format("the store refused the token of {}; check GOOGLE_APPLICATION_CREDENTIALS",
                                      credentials_->source())
                        : std::string(
                              "anonymous access was refused; set GOOGLE_APPLICATION_CREDENTIALS to a "
                              "service account key file (or use GCS_HMAC_ACCESS_ID / GCS_HMAC_SECRET)");
  } else if (response.status == 403) {
    code = ErrorCode::kPermissionDenied;
    hint = credentials_ ? fmt::format("{} is not allowed to do this; grant it a storage role on bucket {}",
                                      credentials_->source(), bucket_)
                        : std::string("anonymous access is not allowed here; set GOOGLE_APPLICATION_CREDENTIALS");
  } else if (response.status == 404 && (full_key.empty() || iequals(reason, "notFound")) &&
             message_text.find("bucket") != std::string::npos) {
    hint = fmt::format("bucket '{}' does not exist at {} ({})", bucket_, settings_.endpoint, settings_.endpoint_source);
  }
  std::string message = fmt::format("{}: {}", where, detail);
  if (response.attempts > 1) message += fmt::format(" (after {} attempts)", response.attempts);
  if (!hint.empty()) message += " — " + hint;
  return Error(code, redact(message));
}

Result<std::optional<ObjectInfo>> GcsStore::stat(std::string_view key) {
  const std::string full_key = join_key(prefix_, key);
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, client_->send(request("GET", object_url(full_key))));
  if (response.status == 404) {
    // A missing bucket is an error, a missing object is an answer.
    if (response.body.find("bucket") != std::string::npos &&
        response.body.find("does not exist") != std::string::npos) {
      return error_for(response, "");
    }
    return std::optional<ObjectInfo>();
  }
  if (!response.ok()) return error_for(response, full_key);
  auto json = parse_json(response.body, "GCS object");
  if (!json.ok()) return json.error().with_context("gs://" + bucket_ + "/" + full_key);
  auto info = parse_gcs_object(*json);
  if (!info.ok()) return info.error().with_context("gs://" + bucket_ + "/" + full_key);
  info->key = std::string(key);
  return std::optional<ObjectInfo>(std::move(info).value());
}

Result<ListPage> GcsStore::list_page(std::string_view prefix, const ListOptions& options,
                                     const std::optional<std::string>& token) {
  const std::string full_prefix = prefix_ + as_directory_prefix(prefix);
  const std::size_t page_size = std::clamp<std::size_t>(options.page_size, 1, 1000);
  std::string url = fmt::format("{}/storage/v1/b/{}/o?prefix={}&maxResults={}", settings_.endpoint, bucket_,
                                percent_encode(full_prefix), page_size);
  if (!options.recursive) url += "&delimiter=%2F";
  if (token) url += "&pageToken=" + percent_encode(*token);
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, client_->send(request("GET", url)));
  if (!response.ok()) return error_for(response, full_prefix);
  if (response.body.size() > kMaxListBody) {
    return Error(ErrorCode::kResourceExhausted, "a GCS listing page is larger than 32 MiB; refusing it");
  }
  auto parsed = parse_gcs_list(response.body);
  if (!parsed.ok()) return parsed.error().with_context(fmt::format("listing gs://{}/{}", bucket_, full_prefix));
  ListPage page;
  for (auto& object : parsed->objects) {
    if (!object.key.starts_with(full_prefix) || object.key.size() == full_prefix.size()) continue;
    if (object.key.back() == '/') continue;  // a folder placeholder made by the console
    object.key = object.key.substr(prefix_.size());
    page.objects.push_back(std::move(object));
  }
  for (auto& common : parsed->prefixes) {
    if (!common.starts_with(full_prefix)) continue;
    page.prefixes.push_back(common.substr(prefix_.size()));
  }
  if (!parsed->next_page_token.empty()) page.next_token = parsed->next_page_token;
  return page;
}

Status GcsStore::read(std::string_view key, const ReadOptions& options, const ByteSink& sink) {
  const std::string full_key = join_key(prefix_, key);
  const std::string url = object_url(full_key) + "?alt=media";
  auto mapper = [this, full_key](const net::HttpResponse& response) {
    if (response.status == 404) return not_found(fmt::format("gs://{}/{} does not exist", bucket_, full_key));
    return error_for(response, full_key);
  };
  const std::uint64_t part = std::max<std::uint64_t>(options.part_size, 1 * kMiB);
  if (options.parallel > 1) {
    std::optional<std::uint64_t> size = options.size;
    const std::uint64_t offset = options.range ? options.range->offset : 0;
    if (!size && !(options.range && options.range->length)) {
      AIRLOCK_ASSIGN_OR_RETURN(std::optional<ObjectInfo> info, stat(key));
      if (!info) return not_found(fmt::format("gs://{}/{} does not exist", bucket_, full_key));
      size = info->size;
    }
    std::uint64_t length = 0;
    if (options.range && options.range->length) {
      length = *options.range->length;
    } else if (size && *size > offset) {
      length = *size - offset;
    }
    if (length > part * 2) {
      ParallelGet plan{offset, length, options.parallel, part, options.cancel};
      return http_parallel_get(
          *client_, [this, url] { return request("GET", url); }, plan, sink, mapper);
    }
  }
  net::HttpRequest get = request("GET", url);
  get.options.cancel = options.cancel;
  return http_streamed_get(*client_, std::move(get), options.range, sink, mapper);
}

Status GcsStore::write(std::string_view key, const ByteSource& source, const WriteOptions& options) {
  const std::string full_key = join_key(prefix_, key);
  if (source.size > options.multipart_threshold) return put_resumable(full_key, source, options);
  return put_multipart(full_key, source, options);
}

Status GcsStore::put_multipart(const std::string& full_key, const ByteSource& source, const WriteOptions& options) {
  // One request with the metadata (airlock's sha256) and the bytes: multipart/related.
  const std::string boundary = random_boundary();
  std::string head = fmt::format(
      "--{}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{}\r\n--{}\r\n"
      "Content-Type: {}\r\n\r\n",
      boundary, dump_json(upload_metadata(full_key, options)), boundary, options.content_type);
  std::string tail = fmt::format("\r\n--{}--\r\n", boundary);
  const std::uint64_t head_size = head.size();
  net::HttpRequest post =
      request("POST", fmt::format("{}/upload/storage/v1/b/{}/o?uploadType=multipart", settings_.endpoint, bucket_));
  net::BodySource body = framed_body(std::move(head), source, std::move(tail));
  body = with_progress(std::move(body), 0, head_size, [&](std::uint64_t reached) {
    if (options.on_progress) options.on_progress(std::min(reached, source.size));
  });
  post.body = std::move(body);
  post.headers.set("Content-Type", "multipart/related; boundary=" + boundary);
  post.options.cancel = options.cancel;
  post.options.idempotent = true;  // writing the same object twice leaves the same object
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, client_->send(std::move(post)));
  if (!response.ok()) return error_for(response, full_key);
  return ok_status();
}

Result<std::string> GcsStore::start_session(const std::string& full_key, const WriteOptions& options) {
  net::HttpRequest start = request("POST", fmt::format("{}/upload/storage/v1/b/{}/o?uploadType=resumable&name={}",
                                                       settings_.endpoint, bucket_, percent_encode(full_key)));
  start.body = dump_json(upload_metadata(full_key, options));
  start.headers.set("Content-Type", "application/json; charset=UTF-8");
  start.headers.set("X-Upload-Content-Type", options.content_type);
  start.options.idempotent = true;  // a second session is never used and expires by itself
  start.options.cancel = options.cancel;
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, client_->send(std::move(start)));
  if (!response.ok()) return error_for(response, full_key);
  std::string location = response.headers.get("location").value_or("");
  if (location.empty()) {
    return Error(ErrorCode::kNetwork,
                 fmt::format("POST gs://{}/{}?uploadType=resumable: the answer has no Location (session URI)", bucket_,
                             full_key));
  }
  // The session URI authorises the upload by itself: keep it out of messages.
  register_secret(location);
  return net::resolve_url(response.url.empty() ? settings_.endpoint : response.url, location);
}

Status GcsStore::put_resumable(const std::string& full_key, const ByteSource& source, const WriteOptions& options) {
  const std::uint64_t chunk = gcs_chunk_size(options.part_size);
  const std::uint64_t total = source.size;
  const std::string where = fmt::format("resumable upload of gs://{}/{}", bucket_, full_key);
  // The session is kept on disk until the upload ends, so that a rerun after a kill continues it.
  const GcsUploadIdentity identity{settings_.endpoint, bucket_, full_key, total, options.sha256.value_or("")};
  auto keep = [&](const std::string& started) {
    Status saved = sessions_.save(identity, started);
    if (!saved.ok())
      log::warn("{}: a rerun will not be able to continue this upload: {}", where, saved.error().message());
  };
  std::string session;
  const std::optional<std::string> kept_session = sessions_.find(identity);
  if (kept_session) {
    session = *kept_session;
  } else {
    AIRLOCK_ASSIGN_OR_RETURN(session, start_session(full_key, options));
    keep(session);
  }
  std::uint64_t offset = 0;
  int recoveries = 0;
  bool restarted = false;
  std::optional<Error> last_failure;
  auto finished = [&]() -> Status {
    sessions_.forget(identity);
    if (options.on_progress) options.on_progress(total);
    return ok_status();
  };

  // Asks the session how many bytes it kept; true when the upload turns out to be complete.
  auto query = [&]() -> Result<bool> {
    net::HttpRequest status = request("PUT", session);
    status.body = std::string();
    status.headers.set("Content-Range", fmt::format("bytes */{}", total));
    status.options.cancel = options.cancel;
    AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse answer, client_->send(std::move(status)));
    if (answer.ok()) return true;
    if (answer.status == 308) {
      AIRLOCK_ASSIGN_OR_RETURN(offset, gcs_persisted_bytes(answer.headers.get("range")));
      return false;
    }
    if (answer.status == 404 || answer.status == 410) {
      // The session is gone (expired or cancelled): start a new one, once.
      if (restarted) return error_for(answer, full_key);
      restarted = true;
      AIRLOCK_ASSIGN_OR_RETURN(session, start_session(full_key, options));
      keep(session);
      offset = 0;
      return false;
    }
    return error_for(answer, full_key);
  };

  if (kept_session) {
    // A session from an earlier run of the same content: how far did it get?
    auto complete = query();
    if (!complete.ok()) {
      const ErrorCode code = complete.error().code();
      if (code == ErrorCode::kUnauthenticated || code == ErrorCode::kPermissionDenied ||
          code == ErrorCode::kCancelled) {
        return complete.error();
      }
      log::debug("{}: the kept session cannot be asked ({}); starting a new one", where, complete.error().message());
      sessions_.forget(identity);
      AIRLOCK_ASSIGN_OR_RETURN(session, start_session(full_key, options));
      keep(session);
      offset = 0;
    } else if (*complete) {
      return finished();
    } else {
      log::info("{}: continuing at byte {} of {} (a session kept from an earlier run)", where, offset, total);
      if (options.on_progress && offset > 0) options.on_progress(offset);
    }
    restarted = false;  // a session lost from here on may still be replaced once
  }

  while (true) {
    if (options.cancel && options.cancel->load()) return Error(ErrorCode::kCancelled, "cancelled");
    const std::uint64_t length = std::min(chunk, total - offset);
    const bool final_chunk = offset + length == total;
    net::HttpRequest put = request("PUT", session);
    if (total == 0) {
      put.body = std::string();
      put.headers.set("Content-Range", "bytes */0");
    } else {
      put.body = with_progress(http_body(source, offset, length), offset, 0, options.on_progress);
      put.headers.set("Content-Range", fmt::format("bytes {}-{}/{}", offset, offset + length - 1, total));
    }
    put.headers.set("Content-Type", options.content_type);
    // Failures are recovered below by asking the session where it stands; a blind resend of
    // the chunk could start before or after what the server kept.
    put.options.max_retries = 0;
    put.options.cancel = options.cancel;
    auto answer = client_->send(std::move(put));
    bool failed = false;
    if (!answer.ok()) {
      if (answer.error().code() == ErrorCode::kCancelled) return answer.error();
      last_failure = answer.error();
      failed = true;
    } else if (answer->ok()) {
      if (!final_chunk) {
        return Error(ErrorCode::kNetwork,
                     fmt::format("{}: the server finished the upload at byte {} of {}", where, offset + length, total));
      }
      return finished();
    } else if (answer->status == 308) {
      AIRLOCK_ASSIGN_OR_RETURN(std::uint64_t kept, gcs_persisted_bytes(answer->headers.get("range")));
      if (kept > total)
        return Error(ErrorCode::kNetwork, fmt::format("{}: the server kept more bytes than sent", where));
      if (kept <= offset && final_chunk) {
        last_failure = Error(ErrorCode::kNetwork, fmt::format("{}: the server kept none of the last chunk", where));
        failed = true;
      } else {
        offset = kept;
        recoveries = 0;
        if (options.on_progress && offset > 0) options.on_progress(offset);
        continue;
      }
    } else if (answer->status == 404 || answer->status == 410) {
      last_failure = error_for(*answer, full_key);
      failed = true;
    } else if (answer->status == 429 || answer->status >= 500) {
      last_failure = error_for(*answer, full_key);
      failed = true;
    } else {
      return error_for(*answer, full_key);
    }
    if (failed) {
      if (++recoveries > kMaxRecoveries) {
        return last_failure->with_context(fmt::format("{} gave up after {} recoveries", where, kMaxRecoveries));
      }
      log::debug("{}: {}; asking the session how far it got", where, last_failure->message());
      std::this_thread::sleep_for(std::chrono::milliseconds(200) * (1 << std::min(recoveries - 1, 5)));
      auto complete = query();
      if (!complete.ok()) {
        if (complete.error().code() == ErrorCode::kUnauthenticated ||
            complete.error().code() == ErrorCode::kPermissionDenied ||
            complete.error().code() == ErrorCode::kCancelled) {
          return complete.error();
        }
        last_failure = complete.error();
        continue;  // the next chunk attempt (or query) counts as another recovery when it fails
      }
      if (*complete) return finished();
    }
  }
}

Status GcsStore::remove(std::string_view key) {
  const std::string full_key = join_key(prefix_, key);
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, client_->send(request("DELETE", object_url(full_key))));
  if (response.ok() || response.status == 404) return ok_status();
  return error_for(response, full_key);
}

}  // namespace airlock::store

namespace airlock::store {
namespace {

// gs:// through the XML API with HMAC keys: S3Store does the work; this keeps the gs:// name in
// what a person sees and points credential errors at the GCS variables, not the AWS ones.
class GcsHmacStore final : public Store {
 public:
  GcsHmacStore(std::string bucket, std::unique_ptr<S3Store> inner, std::string key_source)
      : bucket_(std::move(bucket)), inner_(std::move(inner)), key_source_(std::move(key_source)) {}

  std::string display_uri() const override { return as_gs(inner_->display_uri()); }
  Capabilities capabilities() const override { return inner_->capabilities(); }
  Result<std::optional<ObjectInfo>> stat(std::string_view key) override { return fix(inner_->stat(key)); }
  Result<ListPage> list_page(std::string_view prefix, const ListOptions& options,
                             const std::optional<std::string>& token) override {
    return fix(inner_->list_page(prefix, options, token));
  }
  Status read(std::string_view key, const ReadOptions& options, const ByteSink& sink) override {
    return fix(inner_->read(key, options, sink));
  }
  Status write(std::string_view key, const ByteSource& source, const WriteOptions& options) override {
    return fix(inner_->write(key, source, options));
  }
  Status remove(std::string_view key) override { return fix(inner_->remove(key)); }
  Result<std::size_t> abort_stale_uploads(std::string_view prefix) override {
    return fix(inner_->abort_stale_uploads(prefix));
  }

 private:
  std::string as_gs(std::string text) const {
    const std::string from = "s3://" + bucket_;
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + 1)) text.replace(at, 5, "gs://");
    return text;
  }
  template <typename T>
  Result<T> fix(Result<T> result) const {
    if (result.ok()) return result;
    std::string message = as_gs(result.error().message());
    if (result.error().code() == ErrorCode::kUnauthenticated) {
      if (auto dash = message.find(" — "); dash != std::string::npos) message.resize(dash);
      message += fmt::format(" — the XML API refused the HMAC key from {}; check GCS_HMAC_ACCESS_ID / GCS_HMAC_SECRET",
                             key_source_);
    }
    return Error(result.error().code(), message);
  }

  std::string bucket_;
  std::unique_ptr<S3Store> inner_;
  std::string key_source_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_gcs(const Uri& uri, const StoreConfig& config) {
  AIRLOCK_TRY(validate_gcs_bucket_name(uri.host));
  if (uri.port)
    return invalid_argument("a gs:// URI names a bucket, not a host and port; use --endpoint-url for the server");
  if (!uri.query.empty()) return invalid_argument("a gs:// URI takes no query string");
  std::string prefix = uri.path;
  while (!prefix.empty() && prefix.front() == '/') prefix.erase(prefix.begin());

  std::string access_id = config.gcs.hmac_access_id;
  std::string secret = config.gcs.hmac_secret;
  std::string key_source = "the store settings";
  if (access_id.empty() && secret.empty()) {
    access_id = get_env("GCS_HMAC_ACCESS_ID").value_or("");
    secret = get_env("GCS_HMAC_SECRET").value_or("");
    key_source = "GCS_HMAC_ACCESS_ID";
  }
  if (access_id.empty() != secret.empty()) {
    return invalid_argument("HMAC keys for gs:// need both GCS_HMAC_ACCESS_ID and GCS_HMAC_SECRET");
  }
  if (!access_id.empty()) {
    register_secret(secret);
    S3Settings s3;
    if (!config.s3.endpoint_url.empty()) {
      s3.endpoint = config.s3.endpoint_url;
      s3.endpoint_source = "--endpoint-url";
    } else {
      s3.endpoint = std::string(kGcsDefaultEndpoint);
      s3.endpoint_source = "the GCS XML API";
    }
    while (!s3.endpoint.empty() && s3.endpoint.back() == '/') s3.endpoint.pop_back();
    s3.custom_endpoint = true;
    s3.region = "auto";  // what the XML API expects in the SigV4 scope
    s3.addressing = S3Addressing::kPath;
    std::shared_ptr<net::HttpClient> client = config.client;
    if (!client) {
      AIRLOCK_ASSIGN_OR_RETURN(client, http_client_for(config));
    }
    auto credentials = static_credentials({access_id, secret, "", {}, key_source});
    auto inner = std::make_unique<S3Store>(uri.host, prefix, std::move(s3), std::move(credentials), std::move(client));
    return std::unique_ptr<Store>(std::make_unique<GcsHmacStore>(uri.host, std::move(inner), key_source));
  }

  AIRLOCK_ASSIGN_OR_RETURN(GcsSettings settings, resolve_gcs_settings(config.s3.endpoint_url));
  std::shared_ptr<net::HttpClient> client = config.client;
  if (!client) {
    AIRLOCK_ASSIGN_OR_RETURN(client, http_client_for(config));
  }
  std::shared_ptr<TokenSource> credentials;
  // Google's client libraries talk to an emulator without credentials unless some are given.
  const bool emulator_without_key = settings.emulator && !get_env("GOOGLE_APPLICATION_CREDENTIALS");
  if (!config.s3.no_sign_request && !emulator_without_key) {
    GcsCredentialOptions options;
    options.http = client->options();
    options.probe_metadata_server = settings.endpoint == kGcsDefaultEndpoint;
    AIRLOCK_ASSIGN_OR_RETURN(credentials, resolve_gcs_credentials(options));
    if (credentials) log::debug("GCS credentials from {}", credentials->source());
  }
  return std::unique_ptr<Store>(std::make_unique<GcsStore>(uri.host, prefix, std::move(settings),
                                                           std::move(credentials), std::move(client),
                                                           GcsUploadSessions(GcsUploadSessions::default_dir())));
}

}  // namespace airlock::store
