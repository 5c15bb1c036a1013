#include "fetch/remote_file.h"

#include <fmt/format.h>

#include <charconv>
#include <memory>

#include "fetch/hub_responses.h"
#include "net/http_url.h"
#include "net/retry_policy.h"

namespace airlock::fetch {
namespace {

std::optional<std::uint64_t> parse_size(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return value;
}

// The first answer of a GET that turned out to be a whole 200 body: headers are all we want.
constexpr std::string_view kStopMarker = "airlock-probe-stop";

}  // namespace

Result<RemoteFile> probe_remote(net::HttpClient& client, const std::string& url, const ProbeOptions& options) {
  RemoteFile out;
  const std::string origin = net::url_origin(url);
  std::string current = url;
  for (int hop = 0; hop <= options.max_redirects; ++hop) {
    bool same_origin = net::url_origin(current) == origin;
    net::HttpRequest request = options.head ? net::HttpRequest::head(current) : net::HttpRequest::get(current);
    if (same_origin) {
      request.headers = options.headers;
      request.signer = options.signer;
    }
    if (options.head) {
      request.headers.set("Accept-Encoding", "identity");
    } else {
      request.range = net::ByteRange{0, 0};
    }
    request.options.follow_redirects = false;

    struct Captured {
      int status = 0;
      net::HttpHeaders headers;
    };
    auto captured = std::make_shared<Captured>();
    Result<net::HttpResponse> result = Error(ErrorCode::kInternal, "unsent");
    if (options.head) {
      result = client.send(std::move(request));
    } else {
      net::HttpSink sink;
      sink.on_headers = [captured](int status, const net::HttpHeaders& headers) -> Status {
        captured->status = status;
        captured->headers = headers;
        if (status == 200) return Error(ErrorCode::kCancelled, std::string(kStopMarker));
        return ok_status();
      };
      sink.on_data = [](std::string_view) { return ok_status(); };
      result = client.send(std::move(request), std::move(sink));
    }
    net::HttpResponse response;
    if (result.ok()) {
      response = std::move(result).value();
    } else if (captured->status == 200 && result.error().message().find(kStopMarker) != std::string::npos) {
      response.status = 200;
      response.headers = captured->headers;
      response.url = current;
    } else {
      return std::move(result).error();
    }
    const net::HttpHeaders& headers = response.headers;
    if (out.repo_commit.empty()) out.repo_commit = headers.get("x-repo-commit").value_or("");
    if (out.etag.empty()) out.etag = normalize_etag(headers.get("x-linked-etag").value_or(""));
    if (!out.size) out.size = parse_size(headers.get("x-linked-size"));

    if (net::is_redirect_status(response.status)) {
      auto location = headers.get("location");
      if (!location || location->empty()) {
        return Error(ErrorCode::kNetwork, fmt::format("{}: HTTP {} without a Location", net::display_url(current), response.status));
      }
      AIRLOCK_ASSIGN_OR_RETURN(std::string next, net::resolve_url(current, *location));
      if (net::url_origin(next) != origin && options.stop_at_other_origin) {
        out.url = next;
        out.same_origin = false;
        return out;
      }
      current = next;
      continue;
    }
    if (response.ok()) {
      out.url = current;
      out.same_origin = same_origin;
      if (out.etag.empty()) out.etag = normalize_etag(headers.get("etag").value_or(""));
      if (response.status == 206) {
        out.ranges = RangeSupport::kYes;
        auto range = net::parse_content_range(headers.get("content-range").value_or(""));
        if (!out.size && range && range->total) out.size = range->total;
      } else {
        if (!out.size) out.size = parse_size(headers.get("content-length"));
        if (!options.head) {
          out.ranges = RangeSupport::kNo;
        } else if (auto accept = headers.get("accept-ranges"); accept && *accept == "none") {
          out.ranges = RangeSupport::kNo;
        }
      }
      return out;
    }
    return options.explain ? options.explain(response) : net::http_error(response);
  }
  return Error(ErrorCode::kNetwork, fmt::format("{}: more than {} redirects", net::display_url(url), options.max_redirects));
}

}  // namespace airlock::fetch
