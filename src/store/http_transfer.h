// Reading objects over HTTP, shared by every HTTP-based backend (S3, plain HTTPS, and the GCS,
// Azure and WebHDFS backends): one streamed GET, or parallel ranged GETs whose bytes still reach
// the sink in order (so the caller can hash while bytes arrive), with memory bounded by the
// number of parts in flight.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "net/http_client.h"
#include "store/store.h"

namespace airlock::store {

// How a backend turns a non-2xx answer into an Error a person can act on.
using HttpErrorMapper = std::function<Error(const net::HttpResponse& response)>;

// GETs `request` (with `range` when given) and streams the body into `sink`. A 200 answer to a
// ranged request is accepted only when the range starts at 0 (the bytes past the range are
// dropped); the byte count must match what the server promised.
Status http_streamed_get(net::HttpClient& client, net::HttpRequest request, const std::optional<ByteRange>& range,
                         const ByteSink& sink, const HttpErrorMapper& error_for);

struct ParallelGet {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  int parallel = 4;
  std::uint64_t part_size = 8 * kMiB;
  std::shared_ptr<const std::atomic<bool>> cancel;
};

// Reads [offset, offset + length) with up to `parallel` ranged GETs in flight (each made by
// `make_request`, which must return a fresh request for the object), delivering the parts to
// `sink` in order on the calling thread.
Status http_parallel_get(net::HttpClient& client, const std::function<net::HttpRequest()>& make_request,
                         const ParallelGet& plan, const ByteSink& sink, const HttpErrorMapper& error_for);

// A store ByteSource as an HTTP upload body.
net::BodySource http_body(const ByteSource& source, std::uint64_t offset = 0,
                          std::optional<std::uint64_t> length = std::nullopt);

}  // namespace airlock::store
