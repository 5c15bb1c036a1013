#include "store/azure_store.h"

#include <fmt/format.h>

#include <condition_variable>
#include <mutex>
#include <random>

#include "core/base64.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/strings.h"
#include "core/uri.h"
#include "net/http_url.h"
#include "store/http_transfer.h"
#include "store/store_factory.h"
#include "store/xml.h"

namespace airlock::store {
namespace {

constexpr std::uint64_t kDefaultBlockSize = 16 * kMiB;
constexpr std::uint64_t kMaxBlocks = 50'000;
constexpr std::size_t kMaxListBody = 32 * 1024 * 1024;

std::string strip_quotes(std::string etag) {
  if (etag.starts_with("W/")) etag.erase(0, 2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

struct AzureErrorDoc {
  std::string code;
  std::string message;
};

AzureErrorDoc parse_error_doc(const net::HttpResponse& response) {
  AzureErrorDoc doc;
  doc.code = response.headers.get("x-ms-error-code").value_or("");
  auto parsed = parse_xml(response.body);
  if (parsed.ok()) {
    const XmlElement* error = parsed->name == "Error" ? &*parsed : parsed->child("Error");
    if (error != nullptr) {
      if (doc.code.empty()) doc.code = error->child_text("Code");
      doc.message = error->child_text("Message");
      // The service appends request ids and a timestamp on further lines.
      if (auto newline = doc.message.find('\n'); newline != std::string::npos) doc.message.resize(newline);
    }
  }
  return doc;
}

net::BodySource with_progress(net::BodySource body, const std::function<void(std::uint64_t)>& progress) {
  if (!progress) return body;
  auto sent = std::make_shared<std::atomic<std::uint64_t>>(0);
  auto inner = body.read;
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
  return body;
}

struct BlockState {
  std::mutex mutex;
  std::condition_variable changed;
  int in_flight = 0;
  std::optional<Error> error;
  std::uint64_t bytes_done = 0;
};

}  // namespace

std::string azure_block_id(std::string_view upload_tag, std::uint64_t index) {
  return base64_encode(fmt::format("airlock-{}-{:08d}", upload_tag, index));
}

Result<AzureListResult> parse_azure_list(std::string_view xml) {
  AIRLOCK_ASSIGN_OR_RETURN(XmlElement root, parse_xml(xml));
  if (root.name != "EnumerationResults") {
    return parse_error("expected an EnumerationResults document, got <" + root.name + ">");
  }
  AzureListResult result;
  if (const XmlElement* blobs = root.child("Blobs")) {
    for (const XmlElement* blob : blobs->children_named("Blob")) {
      ObjectInfo info;
      info.key = blob->child_text("Name");
      if (info.key.empty()) return parse_error("a listed blob has no Name");
      const XmlElement* properties = blob->child("Properties");
      if (properties == nullptr) return parse_error("listed blob '" + info.key + "' has no Properties");
      auto size = parse_u64(properties->child_text("Content-Length"));
      if (!size) return parse_error("listed blob '" + info.key + "' has no valid Content-Length");
      info.size = *size;
      info.etag = strip_quotes(properties->child_text("Etag"));
      result.objects.push_back(std::move(info));
    }
    for (const XmlElement* prefix : blobs->children_named("BlobPrefix")) {
      std::string name = prefix->child_text("Name");
      if (!name.empty()) result.prefixes.push_back(std::move(name));
    }
  }
  result.next_marker = root.child_text("NextMarker");
  return result;
}

AzureStore::AzureStore(AzureTarget target, AzureAuth auth, std::shared_ptr<net::HttpClient> client)
    : target_(std::move(target)), auth_(std::move(auth)), client_(std::move(client)) {
  target_.prefix = as_directory_prefix(target_.prefix);
}

std::string AzureStore::display_uri() const {
  return target_.display;
}

Capabilities AzureStore::capabilities() const {
  Capabilities caps;
  caps.sha256_metadata = true;
  return caps;
}

std::string AzureStore::url(std::string_view full_key, std::string_view query) const {
  std::string out = target_.endpoint + "/" + target_.container;
  if (!full_key.empty()) out += "/" + percent_encode(full_key, "/");
  std::string all_query(query);
  if (auth_.kind == AzureAuthKind::kSas) {
    if (!all_query.empty()) all_query += '&';
    all_query += auth_.sas;
  }
  if (!all_query.empty()) out += "?" + all_query;
  return out;
}

net::HttpRequest AzureStore::request(std::string method, std::string_view full_key, std::string_view query) const {
  net::HttpRequest request;
  request.method = std::move(method);
  request.url = url(full_key, query);
  request.headers.set("x-ms-version", std::string(kAzureStorageVersion));
  if (auth_.kind == AzureAuthKind::kSharedKey) {
    const std::string account = auth_.account;
    const std::string key = auth_.key;
    request.signer = [account, key](net::OutgoingRequest& out) -> Status {
      return azure_shared_key_sign(out, account, key);
    };
  } else if (auth_.kind == AzureAuthKind::kBearer) {
    std::optional<Error> failure;
    if (auto token = auth_.token->get(); !token.ok()) failure = token.error();
    auto source = auth_.token;
    request.signer = [source, failure](net::OutgoingRequest& out) -> Status {
      if (failure) return *failure;
      std::optional<std::string> token = source->current();
      if (!token) return Error(ErrorCode::kUnauthenticated, "no Azure access token was obtained");
      out.headers.set("Authorization", "Bearer " + *token);
      return ok_status();
    };
  }
  return request;
}

Error AzureStore::error_for(const net::HttpResponse& response, std::string_view full_key) const {
  AzureErrorDoc doc = parse_error_doc(response);
  const std::string where = fmt::format("{} {}/{}/{}", response.method, target_.account, target_.container, full_key);
  std::string detail = doc.code.empty() ? fmt::format("HTTP {} {}", response.status, response.reason)
                                        : fmt::format("HTTP {} {}", response.status, doc.code);
  if (!doc.message.empty()) detail += ": " + doc.message;
  ErrorCode code = net::error_code_for_status(response.status);
  std::string hint;
  // Azurite answers a bad signature with AuthorizationFailure and the service's
  // AuthenticationFailed message: the message says which it is.
  const bool authentication = doc.code == "AuthenticationFailed" || doc.code == "InvalidAuthenticationInfo" ||
                              doc.code == "NoAuthenticationInformation" || response.status == 401 ||
                              doc.message.find("failed to authenticate") != std::string::npos;
  if (authentication) {
    code = ErrorCode::kUnauthenticated;
    hint = fmt::format("the service refused the credentials from {}; {}", auth_.source, auth_.fix);
  } else if (response.status == 403) {
    code = ErrorCode::kPermissionDenied;
    hint = fmt::format("the credentials from {} may not do this; {}", auth_.source, auth_.fix);
  } else if (doc.code == "ContainerNotFound") {
    code = ErrorCode::kNotFound;
    hint = fmt::format("container '{}' does not exist in account {} at {} ({})", target_.container, target_.account,
                       net::display_url(target_.endpoint), target_.endpoint_source);
  } else if (doc.code == "InvalidHeaderValue" && doc.message.find("version") != std::string::npos) {
    hint = fmt::format("the service does not know x-ms-version {}", kAzureStorageVersion);
  }
  std::string message = fmt::format("{}: {}", where, detail);
  if (response.attempts > 1) message += fmt::format(" (after {} attempts)", response.attempts);
  if (!hint.empty()) message += " — " + hint;
  return Error(code, redact(message));
}

Status AzureStore::create_container() {
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, client_->send([&] {
    net::HttpRequest put = request("PUT", "", "restype=container");
    put.body = std::string();
    return put;
  }()));
  if (response.ok() || response.status == 409) return ok_status();
  return error_for(response, "");
}

Result<std::optional<ObjectInfo>> AzureStore::stat(std::string_view key) {
  const std::string full_key = join_key(target_.prefix, key);
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, client_->send(request("HEAD", full_key)));
  if (response.status == 404) {
    if (response.headers.get("x-ms-error-code").value_or("") == "ContainerNotFound")
      return error_for(response, full_key);
    return std::optional<ObjectInfo>();
  }
  if (!response.ok()) return error_for(response, full_key);
  ObjectInfo info;
  info.key = std::string(key);
  auto length = parse_u64(response.headers.get("content-length").value_or(""));
  if (!length) return Error(ErrorCode::kNetwork, fmt::format("HEAD {}: no Content-Length in the answer", full_key));
  info.size = *length;
  info.etag = strip_quotes(response.headers.get("etag").value_or(""));
  if (auto sha = response.headers.get("x-ms-meta-sha256"); sha && is_lower_hex(*sha, 64)) info.sha256 = *sha;
  return std::optional<ObjectInfo>(std::move(info));
}

Result<ListPage> AzureStore::list_page(std::string_view prefix, const ListOptions& options,
                                       const std::optional<std::string>& token) {
  const std::string full_prefix = target_.prefix + as_directory_prefix(prefix);
  const std::size_t page_size = std::clamp<std::size_t>(options.page_size, 1, 5000);
  std::string query =
      fmt::format("restype=container&comp=list&prefix={}&maxresults={}", percent_encode(full_prefix), page_size);
  if (!options.recursive) query += "&delimiter=%2F";
  if (token) query += "&marker=" + percent_encode(*token);
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, client_->send(request("GET", "", query)));
  if (!response.ok()) return error_for(response, full_prefix);
  if (response.body.size() > kMaxListBody) {
    return Error(ErrorCode::kResourceExhausted, "an Azure listing page is larger than 32 MiB; refusing it");
  }
  auto parsed = parse_azure_list(response.body);
  if (!parsed.ok()) {
    return parsed.error().with_context(fmt::format("listing {}/{}", target_.container, full_prefix));
  }
  ListPage page;
  for (auto& object : parsed->objects) {
    if (!object.key.starts_with(full_prefix) || object.key.size() == full_prefix.size()) continue;
    if (object.key.back() == '/') continue;
    object.key = object.key.substr(target_.prefix.size());
    page.objects.push_back(std::move(object));
  }
  for (auto& common : parsed->prefixes) {
    if (!common.starts_with(full_prefix)) continue;
    page.prefixes.push_back(common.substr(target_.prefix.size()));
  }
  if (!parsed->next_marker.empty()) page.next_token = parsed->next_marker;
  return page;
}

Status AzureStore::read(std::string_view key, const ReadOptions& options, const ByteSink& sink) {
  const std::string full_key = join_key(target_.prefix, key);
  auto mapper = [this, full_key](const net::HttpResponse& response) {
    if (response.status == 404 && parse_error_doc(response).code == "BlobNotFound") {
      return not_found(fmt::format("{}/{}/{} does not exist", target_.account, target_.container, full_key));
    }
    return error_for(response, full_key);
  };
  const std::uint64_t part = std::max<std::uint64_t>(options.part_size, 1 * kMiB);
  if (options.parallel > 1) {
    std::optional<std::uint64_t> size = options.size;
    const std::uint64_t offset = options.range ? options.range->offset : 0;
    if (!size && !(options.range && options.range->length)) {
      AIRLOCK_ASSIGN_OR_RETURN(std::optional<ObjectInfo> info, stat(key));
      if (!info) return not_found(fmt::format("{}/{}/{} does not exist", target_.account, target_.container, full_key));
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

Status AzureStore::write(std::string_view key, const ByteSource& source, const WriteOptions& options) {
  const std::string full_key = join_key(target_.prefix, key);
  if (source.size > options.multipart_threshold) return put_blocks(full_key, source, options);
  return put_blob(full_key, source, options);
}

Status AzureStore::put_blob(const std::string& full_key, const ByteSource& source, const WriteOptions& options) {
  net::HttpRequest put = request("PUT", full_key);
  put.body = with_progress(http_body(source), options.on_progress);
  put.headers.set("x-ms-blob-type", "BlockBlob");
  put.headers.set("Content-Type", options.content_type);
  if (options.sha256) put.headers.set("x-ms-meta-sha256", *options.sha256);
  put.options.cancel = options.cancel;
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, client_->send(std::move(put)));
  if (!response.ok()) return error_for(response, full_key);
  return ok_status();
}

Status AzureStore::put_blocks(const std::string& full_key, const ByteSource& source, const WriteOptions& options) {
  const std::uint64_t preferred = options.part_size > 0 ? options.part_size : kDefaultBlockSize;
  const std::uint64_t block_size = choose_part_size(source.size, preferred, 1 * kMiB, kMaxBlocks);
  const std::uint64_t blocks = std::max<std::uint64_t>(1, (source.size + block_size - 1) / block_size);
  if (blocks > kMaxBlocks) {
    return invalid_argument(fmt::format("{} would need {} blocks; Azure allows {}", full_key, blocks, kMaxBlocks));
  }
  std::random_device device;
  const std::string tag = fmt::format("{:08x}", static_cast<std::uint32_t>(device()));
  auto state = std::make_shared<BlockState>();
  const int parallel = std::max(options.parallel, 1);
  for (std::uint64_t index = 0; index < blocks; ++index) {
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
    const std::uint64_t offset = index * block_size;
    const std::uint64_t length = std::min(block_size, source.size - offset);
    // Read on this thread (it may block on the disk), send from the event loop.
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
        read_status = io_error(fmt::format("the source of {} ended at byte {}", full_key, offset + filled));
        break;
      }
      filled += *n;
    }
    if (!read_status.ok()) {
      std::lock_guard lock(state->mutex);
      state->error = std::move(read_status).error();
      break;
    }
    net::HttpRequest block =
        request("PUT", full_key, "comp=block&blockid=" + percent_encode(azure_block_id(tag, index)));
    block.body = std::move(buffer);
    {
      std::lock_guard lock(state->mutex);
      ++state->in_flight;
    }
    auto progress = options.on_progress;
    client_->submit(std::move(block), net::HttpSink{},
                    [this, state, length, full_key, progress](Result<net::HttpResponse> result) {
                      std::optional<Error> failure;
                      if (!result.ok()) {
                        failure = std::move(result).error();
                      } else if (!result->ok()) {
                        failure = error_for(*result, full_key);
                      }
                      std::uint64_t done = 0;
                      {
                        std::lock_guard lock(state->mutex);
                        --state->in_flight;
                        if (failure) {
                          if (!state->error) state->error = std::move(failure);
                        } else {
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
  // Uncommitted blocks need no cleanup: the service drops them after a week.
  if (state->error) return *state->error;

  std::string body = R"(<?xml version="1.0" encoding="utf-8"?><BlockList>)";
  for (std::uint64_t index = 0; index < blocks; ++index) {
    body += "<Latest>" + azure_block_id(tag, index) + "</Latest>";
  }
  body += "</BlockList>";
  net::HttpRequest commit = request("PUT", full_key, "comp=blocklist");
  commit.body = std::move(body);
  commit.headers.set("Content-Type", "application/xml");
  commit.headers.set("x-ms-blob-content-type", options.content_type);
  if (options.sha256) commit.headers.set("x-ms-meta-sha256", *options.sha256);
  commit.options.cancel = options.cancel;
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, client_->send(std::move(commit)));
  if (!response.ok()) return error_for(response, full_key);
  return ok_status();
}

Status AzureStore::remove(std::string_view key) {
  const std::string full_key = join_key(target_.prefix, key);
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, client_->send(request("DELETE", full_key)));
  if (response.ok()) return ok_status();
  if (response.status == 404 && parse_error_doc(response).code != "ContainerNotFound") return ok_status();
  return error_for(response, full_key);
}

}  // namespace airlock::store

namespace airlock::store {

Result<std::unique_ptr<Store>> open_azure(const Uri& uri, const StoreConfig& config) {
  AIRLOCK_ASSIGN_OR_RETURN(AzureTarget target, parse_azure_uri(uri, config.s3.endpoint_url));
  std::shared_ptr<net::HttpClient> client = config.client;
  if (!client) {
    AIRLOCK_ASSIGN_OR_RETURN(client, http_client_for(config));
  }
  AzureCredentialOptions options;
  options.anonymous = config.s3.no_sign_request;
  options.http = client->options();
  AIRLOCK_ASSIGN_OR_RETURN(AzureAuth auth, resolve_azure_auth(uri, target, options));
  log::debug("Azure credentials from {}; endpoint {} ({})", auth.source, net::display_url(target.endpoint),
             target.endpoint_source);
  return std::unique_ptr<Store>(std::make_unique<AzureStore>(std::move(target), std::move(auth), std::move(client)));
}

}  // namespace airlock::store
