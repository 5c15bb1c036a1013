#include "store/https_store.h"

#include <fmt/format.h>

#include <charconv>

#include "core/base64.h"
#include "core/redact.h"
#include "core/strings.h"
#include "core/uri.h"
#include "net/http_url.h"
#include "net/retry_policy.h"
#include "store/http_transfer.h"

namespace airlock::store {
HttpsStore::HttpsStore(std::string base_url, HttpAuth auth, std::shared_ptr<net::HttpClient> client)
    : base_url_(std::move(base_url)), auth_(std::move(auth)), client_(std::move(client)) {
  if (base_url_.empty() || base_url_.back() != '/') base_url_ += '/';
  register_secret(auth_.password);
  register_secret(auth_.bearer);
}

std::string HttpsStore::display_uri() const {
  return net::display_url(base_url_);
}

Capabilities HttpsStore::capabilities() const {
  Capabilities caps;
  caps.list = false;
  return caps;
}

std::string HttpsStore::url_for(std::string_view key) const {
  return base_url_ + percent_encode(key, "/");
}

net::HttpRequest HttpsStore::request(std::string method, std::string_view key) const {
  net::HttpRequest request;
  request.method = std::move(method);
  request.url = url_for(key);
  if (!auth_.bearer.empty() || !auth_.user.empty()) {
    std::string value =
        !auth_.bearer.empty() ? "Bearer " + auth_.bearer : "Basic " + base64_encode(auth_.user + ":" + auth_.password);
    // A signer runs only for the origin the caller named, never after a redirect elsewhere.
    request.signer = [value](net::OutgoingRequest& out) -> Status {
      out.headers.set("Authorization", value);
      return ok_status();
    };
  }
  return request;
}

Error HttpsStore::error_for(const net::HttpResponse& response, std::string_view key) const {
  Error base = net::http_error(response);
  std::string hint;
  if (response.status == 401) {
    hint = auth_.user.empty() && auth_.bearer.empty()
               ? "the server wants credentials: give --http-user (or AIRLOCK_HTTP_USER/AIRLOCK_HTTP_PASSWORD) or "
                 "--http-token (AIRLOCK_HTTP_TOKEN)"
               : "the server refused the credentials given (--http-user / --http-token)";
  } else if (response.status == 405 && (response.method == "PUT" || response.method == "DELETE")) {
    hint = fmt::format(
        "the server does not accept WebDAV {} at {}; enable it (nginx: dav_methods PUT DELETE) or push "
        "to another store",
        response.method, display_uri());
  } else if (response.status == 404 && response.method == "GET") {
    hint = fmt::format("{} is not on the server", key);
  }
  if (hint.empty()) return base;
  return Error(base.code(), redact(base.message() + " — " + hint));
}

Result<std::optional<ObjectInfo>> HttpsStore::stat(std::string_view key) {
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, client_->send(request("HEAD", key)));
  if (response.status == 404 || response.status == 410) return std::optional<ObjectInfo>();
  if (response.status == 405 || response.status == 501) {
    // Some servers refuse HEAD; one byte of a GET tells the size just as well.
    net::HttpRequest probe = request("GET", key);
    probe.range = net::ByteRange{0, 0};
    AIRLOCK_ASSIGN_OR_RETURN(response, client_->send(std::move(probe)));
    if (response.status == 404 || response.status == 410) return std::optional<ObjectInfo>();
    if (!response.ok()) return error_for(response, key);
    ObjectInfo info;
    info.key = std::string(key);
    auto range = net::parse_content_range(response.headers.get("content-range").value_or(""));
    if (response.status == 206 && range && range->total) {
      info.size = *range->total;
    } else {
      info.size = response.body.size();
    }
    return std::optional<ObjectInfo>(std::move(info));
  }
  if (!response.ok()) return error_for(response, key);
  ObjectInfo info;
  info.key = std::string(key);
  auto length = parse_u64(response.headers.get("content-length").value_or(""));
  if (!length) {
    return Error(ErrorCode::kUnsupported,
                 fmt::format("HEAD {}: the server gives no Content-Length", net::display_url(url_for(key))));
  }
  info.size = *length;
  std::string etag = response.headers.get("etag").value_or("");
  if (etag.starts_with("W/")) etag.erase(0, 2);
  if (etag.size() >= 2 && etag.front() == '"') etag = etag.substr(1, etag.size() - 2);
  info.etag = etag;
  return std::optional<ObjectInfo>(std::move(info));
}

Result<ListPage> HttpsStore::list_page(std::string_view, const ListOptions&, const std::optional<std::string>&) {
  return Error(ErrorCode::kUnsupported,
               fmt::format("{} is a plain web server, which cannot list its files; airlock reads such a store "
                           "through its index (.airlock/index.json), written by airlock push",
                           display_uri()));
}

Status HttpsStore::read(std::string_view key, const ReadOptions& options, const ByteSink& sink) {
  auto mapper = [this, k = std::string(key)](const net::HttpResponse& response) { return error_for(response, k); };
  const std::uint64_t part = std::max<std::uint64_t>(options.part_size, 1 * kMiB);
  if (options.parallel > 1 && (options.size || (options.range && options.range->length))) {
    const std::uint64_t offset = options.range ? options.range->offset : 0;
    std::uint64_t length = 0;
    if (options.range && options.range->length) {
      length = *options.range->length;
    } else if (*options.size > offset) {
      length = *options.size - offset;
    }
    if (length > part * 2) {
      ParallelGet plan{offset, length, options.parallel, part, options.cancel};
      const std::string k(key);
      return http_parallel_get(
          *client_, [this, k] { return request("GET", k); }, plan, sink, mapper);
    }
  }
  net::HttpRequest get = request("GET", key);
  get.options.cancel = options.cancel;
  return http_streamed_get(*client_, std::move(get), options.range, sink, mapper);
}

Status HttpsStore::make_collections(std::string_view key) {
  std::size_t slash = 0;
  while ((slash = key.find('/', slash)) != std::string_view::npos) {
    std::string dir(key.substr(0, slash + 1));
    ++slash;
    net::HttpRequest mkcol = request("MKCOL", dir);
    mkcol.options.idempotent = true;
    AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, client_->send(std::move(mkcol)));
    // 405: it exists already.
    if (!response.ok() && response.status != 405) return error_for(response, dir);
  }
  return ok_status();
}

Status HttpsStore::write(std::string_view key, const ByteSource& source, const WriteOptions& options) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    net::HttpRequest put = request("PUT", key);
    net::BodySource body = http_body(source);
    if (options.on_progress) {
      auto inner = body.read;
      auto progress = options.on_progress;
      auto reached = std::make_shared<std::atomic<std::uint64_t>>(0);
      body.read = [inner, progress, reached](std::uint64_t offset, std::span<char> buffer) -> Result<std::size_t> {
        auto n = inner(offset, buffer);
        if (n.ok() && offset + *n > reached->load()) {
          reached->store(offset + *n);
          progress(offset + *n);
        }
        return n;
      };
    }
    put.body = std::move(body);
    put.headers.set("Content-Type", options.content_type);
    put.options.cancel = options.cancel;
    AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, client_->send(std::move(put)));
    if (response.ok()) return ok_status();
    if (response.status == 409 && attempt == 0) {
      // WebDAV: the parent collection is missing.
      AIRLOCK_TRY(make_collections(key));
      continue;
    }
    return error_for(response, key);
  }
  return ok_status();
}

Status HttpsStore::remove(std::string_view key) {
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response, client_->send(request("DELETE", key)));
  if (response.ok() || response.status == 404 || response.status == 410) return ok_status();
  return error_for(response, key);
}

}  // namespace airlock::store
