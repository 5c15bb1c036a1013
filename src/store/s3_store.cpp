#include "store/s3_store.h"

#include <fmt/format.h>

#include <charconv>
#include <condition_variable>
#include <mutex>

#include "core/hash.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/strings.h"
#include "core/uri.h"
#include "net/http_url.h"
#include "store/http_transfer.h"

namespace airlock::store {
namespace {

constexpr std::uint64_t kDefaultPartSize = 16 * kMiB;
constexpr std::uint64_t kMaxParts = 10'000;
constexpr std::size_t kMaxListBody = 32 * 1024 * 1024;

std::string strip_quotes(std::string etag) {
  if (etag.starts_with("W/")) etag.erase(0, 2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

Result<std::string> maybe_decode(const std::string& text, bool url_encoded) {
  if (!url_encoded) return text;
  return percent_decode(text);
}

Result<std::string> sha256_of_source(const ByteSource& source) {
  Hasher hasher(HashAlgorithm::kSha256);
  std::vector<char> buffer(1 << 20);
  std::uint64_t offset = 0;
  while (offset < source.size) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), source.size - offset));
    AIRLOCK_ASSIGN_OR_RETURN(std::size_t n, source.read(offset, std::span<char>(buffer.data(), want)));
    if (n == 0) return io_error("the upload source ended early");
    hasher.update(std::string_view(buffer.data(), n));
    offset += n;
  }
  return hasher.finish_hex();
}

struct S3ErrorDoc {
  std::string code;
  std::string message;
  std::string region;
};

S3ErrorDoc parse_error_doc(std::string_view body) {
  S3ErrorDoc doc;
  auto parsed = parse_xml(body);
  if (!parsed.ok()) return doc;
  const XmlElement* error = parsed->name == "Error" ? &*parsed : parsed->child("Error");
  if (error == nullptr) return doc;
  doc.code = error->child_text("Code");
  doc.message = error->child_text("Message");
  doc.region = error->child_text("Region");
  return doc;
}

}  // namespace

Result<S3ListResult> parse_list_objects_v2(std::string_view xml) {
  AIRLOCK_ASSIGN_OR_RETURN(XmlElement root, parse_xml(xml));
  if (root.name != "ListBucketResult") {
    return parse_error("expected a ListBucketResult document, got <" + root.name + ">");
  }
  const bool url_encoded = root.child_text("EncodingType") == "url";
  S3ListResult result;
  for (const XmlElement* contents : root.children_named("Contents")) {
    ObjectInfo info;
    AIRLOCK_ASSIGN_OR_RETURN(info.key, maybe_decode(contents->child_text("Key"), url_encoded));
    auto size = parse_u64(contents->child_text("Size"));
    if (!size) return parse_error("listing entry '" + info.key + "' has no valid Size");
    info.size = *size;
    info.etag = strip_quotes(contents->child_text("ETag"));
    result.objects.push_back(std::move(info));
  }
  for (const XmlElement* common : root.children_named("CommonPrefixes")) {
    AIRLOCK_ASSIGN_OR_RETURN(std::string prefix, maybe_decode(common->child_text("Prefix"), url_encoded));
    result.prefixes.push_back(std::move(prefix));
  }
  result.truncated = root.child_text("IsTruncated") == "true";
  result.next_token = root.child_text("NextContinuationToken");
  return result;
}

Result<S3UploadList> parse_list_multipart_uploads(std::string_view xml) {
  AIRLOCK_ASSIGN_OR_RETURN(XmlElement root, parse_xml(xml));
  if (root.name != "ListMultipartUploadsResult") {
    return parse_error("expected a ListMultipartUploadsResult document, got <" + root.name + ">");
  }
  const bool url_encoded = root.child_text("EncodingType") == "url";
  S3UploadList list;
  for (const XmlElement* upload : root.children_named("Upload")) {
    S3Upload item;
    AIRLOCK_ASSIGN_OR_RETURN(item.key, maybe_decode(upload->child_text("Key"), url_encoded));
    item.upload_id = upload->child_text("UploadId");
    if (!item.upload_id.empty()) list.uploads.push_back(std::move(item));
  }
  list.truncated = root.child_text("IsTruncated") == "true";
  AIRLOCK_ASSIGN_OR_RETURN(list.next_key_marker, maybe_decode(root.child_text("NextKeyMarker"), url_encoded));
  list.next_upload_id_marker = root.child_text("NextUploadIdMarker");
  return list;
}

S3Store::S3Store(std::string bucket, std::string prefix, S3Settings settings,
                 std::shared_ptr<CredentialProvider> credentials, std::shared_ptr<net::HttpClient> client)
    : bucket_(std::move(bucket)),
      prefix_(as_directory_prefix(prefix)),
      settings_(std::move(settings)),
      credentials_(std::move(credentials)),
      client_(std::move(client)) {}

std::string S3Store::display_uri() const {
  return "s3://" + bucket_ + "/" + prefix_;
}

Capabilities S3Store::capabilities() const {
  Capabilities caps;
  caps.sha256_metadata = true;
  return caps;
}

net::HttpRequest S3Store::request(std::string method, std::string_view full_key, std::string_view query) const {
  net::HttpRequest request;
  request.method = std::move(method);
  request.url = s3_url(settings_, bucket_, full_key, query);
  request.sensitive_headers.push_back("x-amz-security-token");
  if (credentials_) {
    // Refresh here, on the caller's thread: the signer runs on the HTTP event loop, where a
    // blocking call to STS would stall every transfer.
    std::optional<Error> failure;
    if (auto refreshed = credentials_->get(); !refreshed.ok()) failure = refreshed.error();
    auto credentials = credentials_;
    SigV4Scope scope{settings_.region, "s3", false};
    request.signer = [credentials, scope, failure](net::OutgoingRequest& out) -> Status {
      if (failure) return *failure;
      std::optional<AwsCredentials> current = credentials->current();
      if (!current) return Error(ErrorCode::kUnauthenticated, "no AWS credentials were obtained");
      return sigv4_sign_request(out, *current, scope);
    };
  }
  return request;
}

Error S3Store::error_for(const net::HttpResponse& response, std::string_view full_key) const {
  S3ErrorDoc doc = parse_error_doc(response.body);
  const std::string where = fmt::format("{} s3://{}/{}", response.method, bucket_, full_key);
  std::string detail = doc.code.empty() ? fmt::format("HTTP {} {}", response.status, response.reason)
                                        : fmt::format("HTTP {} {}: {}", response.status, doc.code, doc.message);
  const std::string source = credentials_ ? credentials_->source() : std::string("no credentials (--no-sign-request)");
  ErrorCode code = net::error_code_for_status(response.status);
  std::string hint;
  if (doc.code == "InvalidAccessKeyId" || doc.code == "SignatureDoesNotMatch" || doc.code == "InvalidToken" ||
      doc.code == "ExpiredToken" || doc.code == "TokenRefreshRequired" || doc.code == "InvalidSecurity") {
    code = ErrorCode::kUnauthenticated;
    hint = fmt::format(
        "the store refused the credentials from {}; check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY "
        "or the profile (--profile, AWS_PROFILE)",
        source);
  } else if (response.status == 403) {
    code = ErrorCode::kPermissionDenied;
    hint = credentials_
               ? fmt::format("the credentials from {} are not allowed to do this; check the bucket policy", source)
               : std::string("anonymous access is not allowed here; give credentials instead of --no-sign-request");
  } else if (doc.code == "NoSuchBucket") {
    code = ErrorCode::kNotFound;
    hint = fmt::format("bucket '{}' does not exist at {} ({})", bucket_, settings_.endpoint, settings_.endpoint_source);
  } else if (doc.code == "AuthorizationHeaderMalformed" || doc.code == "PermanentRedirect" || response.status == 301) {
    std::string region = !doc.region.empty() ? doc.region : response.headers.get("x-amz-bucket-region").value_or("");
    hint = region.empty()
               ? std::string("the bucket is in another region; set AWS_REGION or --region")
               : fmt::format("the bucket is in region {}; set AWS_REGION={} or --region {}", region, region, region);
  } else if (doc.code == "RequestTimeTooSkewed") {
    hint = "this machine's clock is more than 15 minutes off; fix the time";
  }
  std::string message = fmt::format("{}: {}", where, detail);
  if (response.attempts > 1) message += fmt::format(" (after {} attempts)", response.attempts);
  if (!hint.empty()) message += " — " + hint;
  return Error(code, redact(message));
}

Result<std::optional<ObjectInfo>> S3Store::stat(std::string_view key) {
  const std::string full_key = join_key(prefix_, key);
  net::HttpRequest head = request("HEAD", full_key);
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, client_->send(std::move(head)));
  if (response.status == 404) return std::optional<ObjectInfo>();
  if (!response.ok()) return error_for(response, full_key);
  ObjectInfo info;
  info.key = std::string(key);
  auto length = parse_u64(response.headers.get("content-length").value_or(""));
  if (!length) {
    return Error(ErrorCode::kNetwork,
                 fmt::format("HEAD s3://{}/{}: no Content-Length in the answer", bucket_, full_key));
  }
  info.size = *length;
  info.etag = strip_quotes(response.headers.get("etag").value_or(""));
  if (auto sha = response.headers.get("x-amz-meta-sha256"); sha && is_lower_hex(*sha, 64)) info.sha256 = *sha;
  return std::optional<ObjectInfo>(std::move(info));
}

Result<ListPage> S3Store::list_page(std::string_view prefix, const ListOptions& options,
                                    const std::optional<std::string>& token) {
  const std::string full_prefix = prefix_ + as_directory_prefix(prefix);
  const std::size_t page_size = std::clamp<std::size_t>(options.page_size, 1, 1000);
  std::string query =
      fmt::format("list-type=2&prefix={}&max-keys={}&encoding-type=url", percent_encode(full_prefix), page_size);
  if (!options.recursive) query += "&delimiter=%2F";
  if (token) query += "&continuation-token=" + percent_encode(*token);
  net::HttpRequest list = request("GET", "", query);
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, client_->send(std::move(list)));
  if (!response.ok()) return error_for(response, full_prefix);
  if (response.body.size() > kMaxListBody) {
    return Error(ErrorCode::kResourceExhausted, "an S3 listing page is larger than 32 MiB; refusing it");
  }
  auto parsed = parse_list_objects_v2(response.body);
  if (!parsed.ok()) return parsed.error().with_context(fmt::format("listing s3://{}/{}", bucket_, full_prefix));
  ListPage page;
  for (auto& object : parsed->objects) {
    if (!object.key.starts_with(full_prefix) || object.key.size() == full_prefix.size()) continue;
    if (object.key.back() == '/') continue;  // a "directory marker" made by consoles and some tools
    object.key = object.key.substr(prefix_.size());
    page.objects.push_back(std::move(object));
  }
  for (auto& common : parsed->prefixes) {
    if (!common.starts_with(full_prefix)) continue;
    page.prefixes.push_back(common.substr(prefix_.size()));
  }
  if (parsed->truncated) {
    if (parsed->next_token.empty()) {
      return Error(ErrorCode::kUnsupported,
                   fmt::format("listing s3://{}/{}: the server says the listing is truncated but gives no "
                               "NextContinuationToken",
                               bucket_, full_prefix));
    }
    page.next_token = parsed->next_token;
  }
  return page;
}

Status S3Store::read(std::string_view key, const ReadOptions& options, const ByteSink& sink) {
  const std::string full_key = join_key(prefix_, key);
  auto mapper = [this, full_key](const net::HttpResponse& response) { return error_for(response, full_key); };
  const std::uint64_t part = std::max<std::uint64_t>(options.part_size, 1 * kMiB);
  if (options.parallel > 1) {
    std::optional<std::uint64_t> size = options.size;
    const std::uint64_t offset = options.range ? options.range->offset : 0;
    if (!size && !(options.range && options.range->length)) {
      AIRLOCK_ASSIGN_OR_RETURN(std::optional<ObjectInfo> info, stat(key));
      if (!info) return not_found(fmt::format("s3://{}/{} does not exist", bucket_, full_key));
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
          *client_, [this, full_key] { return request("GET", full_key); }, plan, sink, mapper);
    }
  }
  net::HttpRequest get = request("GET", full_key);
  get.options.cancel = options.cancel;
  return http_streamed_get(*client_, std::move(get), options.range, sink, mapper);
}

Status S3Store::write(std::string_view key, const ByteSource& source, const WriteOptions& options) {
  const std::string full_key = join_key(prefix_, key);
  if (source.size > options.multipart_threshold) {
    return put_multipart(full_key, source, options);
  }
  return put_single(full_key, source, options);
}

Status S3Store::put_single(const std::string& full_key, const ByteSource& source, const WriteOptions& options) {
  std::string sha256;
  if (options.sha256) {
    sha256 = *options.sha256;
  } else {
    AIRLOCK_ASSIGN_OR_RETURN(sha256, sha256_of_source(source));
  }
  net::HttpRequest put = request("PUT", full_key);
  net::BodySource body = http_body(source);
  if (options.on_progress) {
    auto sent = std::make_shared<std::atomic<std::uint64_t>>(0);
    auto inner = body.read;
    auto progress = options.on_progress;
    body.read = [inner, sent, progress](std::uint64_t offset, std::span<char> buffer) -> Result<std::size_t> {
      auto n = inner(offset, buffer);
      if (n.ok()) {
        std::uint64_t reached = offset + *n;
        std::uint64_t previous = sent->load();
        while (reached > previous && !sent->compare_exchange_weak(previous, reached)) {
        }
        if (reached > previous) progress(reached);
      }
      return n;
    };
  }
  put.body = std::move(body);
  put.headers.set("Content-Type", options.content_type);
  put.headers.set("x-amz-content-sha256", sha256);
  put.headers.set("x-amz-meta-sha256", sha256);
  put.options.cancel = options.cancel;
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, client_->send(std::move(put)));
  if (!response.ok()) return error_for(response, full_key);
  return ok_status();
}

namespace {

struct PartState {
  std::mutex mutex;
  std::condition_variable changed;
  int in_flight = 0;
  std::vector<std::string> etags;
  std::optional<Error> error;
  std::uint64_t bytes_done = 0;
};

}  // namespace

Status S3Store::put_multipart(const std::string& full_key, const ByteSource& source, const WriteOptions& options) {
  const std::uint64_t part_size = options.part_size > 0
                                      ? choose_part_size(source.size, options.part_size, 5 * kMiB, kMaxParts)
                                      : choose_part_size(source.size, kDefaultPartSize, 5 * kMiB, kMaxParts);
  const std::uint64_t parts = std::max<std::uint64_t>(1, (source.size + part_size - 1) / part_size);
  if (parts > kMaxParts) {
    return invalid_argument(
        fmt::format("s3://{}/{} would need {} parts; S3 allows {}", bucket_, full_key, parts, kMaxParts));
  }

  // Initiate.
  net::HttpRequest initiate = request("POST", full_key, "uploads=");
  initiate.headers.set("Content-Type", options.content_type);
  initiate.headers.set("x-amz-content-sha256", std::string(kEmptyPayloadSha256));
  if (options.sha256) initiate.headers.set("x-amz-meta-sha256", *options.sha256);
  initiate.body = std::string();
  initiate.options.idempotent = true;  // a second upload id only leaves a stale upload to abort
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse initiated, client_->send(std::move(initiate)));
  if (!initiated.ok()) return error_for(initiated, full_key);
  auto doc = parse_xml(initiated.body);
  std::string upload_id = doc.ok() ? doc->child_text("UploadId") : std::string();
  if (upload_id.empty()) {
    return Error(ErrorCode::kNetwork,
                 fmt::format("POST s3://{}/{}?uploads: the answer has no UploadId", bucket_, full_key));
  }
  const std::string upload_query = "uploadId=" + percent_encode(upload_id);
  auto abort_upload = [&] {
    net::HttpRequest abort = request("DELETE", full_key, upload_query);
    auto aborted = client_->send(std::move(abort));
    if (!aborted.ok() || !aborted->ok())
      log::debug("aborting the multipart upload of s3://{}/{} failed", bucket_, full_key);
  };

  auto state = std::make_shared<PartState>();
  state->etags.resize(static_cast<std::size_t>(parts));
  const int parallel = std::max(options.parallel, 1);
  for (std::uint64_t index = 0; index < parts; ++index) {
    {
      std::unique_lock lock(state->mutex);
      state->changed.wait(lock, [&] { return state->in_flight < parallel || state->error; });
      if (state->error) break;
    }
    if (options.cancel && options.cancel->load()) {
      std::lock_guard lock(state->mutex);
      state->error = Error(ErrorCode::kCancelled, "cancelled");
      break;
    }
    const std::uint64_t offset = index * part_size;
    const std::uint64_t length = std::min(part_size, source.size - offset);
    std::string buffer(static_cast<std::size_t>(length), '\0');
    std::uint64_t filled = 0;
    Status read_status;
    while (filled < length) {
      auto n = source.read(offset + filled,
                           std::span<char>(buffer.data() + filled, static_cast<std::size_t>(length - filled)));
      if (!n.ok()) {
        read_status = n.error();
        break;
      }
      if (*n == 0) {
        read_status =
            io_error(fmt::format("the source of s3://{}/{} ended at byte {}", bucket_, full_key, offset + filled));
        break;
      }
      filled += *n;
    }
    if (!read_status.ok()) {
      std::lock_guard lock(state->mutex);
      state->error = std::move(read_status).error();
      break;
    }
    net::HttpRequest part = request("PUT", full_key, fmt::format("partNumber={}&{}", index + 1, upload_query));
    part.headers.set("x-amz-content-sha256", sha256_hex(buffer));
    part.body = std::move(buffer);
    {
      std::lock_guard lock(state->mutex);
      ++state->in_flight;
    }
    auto progress = options.on_progress;
    client_->submit(std::move(part), net::HttpSink{},
                    [this, state, index, length, full_key, progress](Result<net::HttpResponse> result) {
                      std::optional<Error> failure;
                      std::string etag;
                      if (!result.ok()) {
                        failure = std::move(result).error();
                      } else if (!result->ok()) {
                        failure = error_for(*result, full_key);
                      } else {
                        etag = result->headers.get("etag").value_or("");
                        if (etag.empty()) {
                          failure =
                              Error(ErrorCode::kNetwork, fmt::format("PUT s3://{}/{} part {}: the answer has no ETag",
                                                                     bucket_, full_key, index + 1));
                        }
                      }
                      std::uint64_t done = 0;
                      {
                        std::lock_guard lock(state->mutex);
                        --state->in_flight;
                        if (failure) {
                          if (!state->error) state->error = std::move(failure);
                        } else {
                          state->etags[static_cast<std::size_t>(index)] = etag;
                          state->bytes_done += length;
                          done = state->bytes_done;
                        }
                        state->changed.notify_all();
                      }
                      if (done > 0 && progress) progress(done);
                    });
  }
  {
    std::unique_lock lock(state->mutex);
    state->changed.wait(lock, [&] { return state->in_flight == 0; });
  }
  if (state->error) {
    abort_upload();
    return *state->error;
  }

  // Complete.
  std::string body = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (std::size_t i = 0; i < state->etags.size(); ++i) {
    body += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", i + 1, xml_escape(state->etags[i]));
  }
  body += "</CompleteMultipartUpload>";
  net::HttpRequest complete = request("POST", full_key, upload_query);
  complete.headers.set("Content-Type", "application/xml");
  complete.headers.set("x-amz-content-sha256", sha256_hex(body));
  complete.body = std::move(body);
  complete.options.idempotent = true;  // a repeat of a completed upload is checked below
  auto completed = client_->send(std::move(complete));
  if (!completed.ok()) {
    abort_upload();
    return completed.error();
  }
  // S3 may answer 200 and still report an error in the body.
  S3ErrorDoc error_doc = parse_error_doc(completed->body);
  if (completed->ok() && error_doc.code.empty()) return ok_status();
  if (error_doc.code == "NoSuchUpload" && completed->attempts > 1) {
    // The first attempt completed the upload and its answer was lost.
    auto info = stat(std::string_view(full_key).substr(prefix_.size()));
    if (info.ok() && *info && (*info)->size == source.size) return ok_status();
  }
  abort_upload();
  if (completed->ok()) {
    return Error(ErrorCode::kUnavailable, fmt::format("completing the upload of s3://{}/{} failed: {}: {}", bucket_,
                                                      full_key, error_doc.code, error_doc.message));
  }
  return error_for(*completed, full_key);
}

Status S3Store::remove(std::string_view key) {
  const std::string full_key = join_key(prefix_, key);
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, client_->send(request("DELETE", full_key)));
  if (response.ok() || response.status == 404) return ok_status();
  return error_for(response, full_key);
}

Result<std::size_t> S3Store::abort_uploads_page(const std::string& full_prefix, std::string& key_marker,
                                                std::string& upload_marker, bool& more) {
  std::string query = "uploads=&prefix=" + percent_encode(full_prefix) + "&encoding-type=url";
  if (!key_marker.empty()) query += "&key-marker=" + percent_encode(key_marker);
  if (!upload_marker.empty()) query += "&upload-id-marker=" + percent_encode(upload_marker);
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, client_->send(request("GET", "", query)));
  more = false;
  if (response.status == 501 || response.status == 405) {
    // s3rver and some gateways cannot list uploads; nothing to abort that we could find.
    log::debug("{} cannot list multipart uploads (HTTP {}); no stale uploads aborted", display_uri(), response.status);
    return std::size_t{0};
  }
  if (!response.ok()) return error_for(response, full_prefix);
  AIRLOCK_ASSIGN_OR_RETURN(S3UploadList list, parse_list_multipart_uploads(response.body));
  std::size_t aborted = 0;
  for (const auto& upload : list.uploads) {
    if (!upload.key.starts_with(full_prefix)) continue;
    auto done = client_->send(request("DELETE", upload.key, "uploadId=" + percent_encode(upload.upload_id)));
    if (!done.ok()) return done.error();
    if (done->ok() || done->status == 404) {
      ++aborted;
      log::info("aborted an unfinished multipart upload of s3://{}/{}", bucket_, upload.key);
    } else {
      return error_for(*done, upload.key);
    }
  }
  more = list.truncated && (!list.next_key_marker.empty() || !list.next_upload_id_marker.empty());
  key_marker = list.next_key_marker;
  upload_marker = list.next_upload_id_marker;
  return aborted;
}

Result<std::size_t> S3Store::abort_stale_uploads(std::string_view prefix) {
  const std::string full_prefix = prefix_ + as_directory_prefix(prefix);
  std::string key_marker;
  std::string upload_marker;
  std::size_t total = 0;
  for (int page = 0; page < 1000; ++page) {
    bool more = false;
    AIRLOCK_ASSIGN_OR_RETURN(std::size_t aborted, abort_uploads_page(full_prefix, key_marker, upload_marker, more));
    total += aborted;
    if (!more) break;
  }
  return total;
}

}  // namespace airlock::store
