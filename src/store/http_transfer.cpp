#include "store/http_transfer.h"

#include <fmt/format.h>

#include <condition_variable>
#include <map>
#include <mutex>

#include "net/http_url.h"
#include "net/retry_policy.h"

namespace airlock::store {

Status http_streamed_get(net::HttpClient& client, net::HttpRequest request, const std::optional<ByteRange>& range,
                         const ByteSink& sink, const HttpErrorMapper& error_for) {
  if (range) {
    net::ByteRange wanted;
    wanted.first = range->offset;
    if (range->length) {
      if (*range->length == 0) return ok_status();
      wanted.last = range->offset + *range->length - 1;
    }
    request.range = wanted;
  }
  const std::string where = request.method + " " + net::display_url(request.url);
  std::uint64_t delivered = 0;
  std::optional<std::uint64_t> limit = range ? range->length : std::nullopt;
  net::HttpSink http_sink;
  http_sink.on_headers = [&](int status, const net::HttpHeaders&) -> Status {
    if (range && status == 200 && range->offset > 0) {
      return Error(ErrorCode::kUnsupported,
                   fmt::format("{}: the server ignored the Range request (answered 200 instead of 206)", where));
    }
    return ok_status();
  };
  http_sink.on_data = [&](std::string_view bytes) -> Status {
    if (limit) {
      if (delivered >= *limit) return ok_status();
      if (bytes.size() > *limit - delivered) bytes = bytes.substr(0, static_cast<std::size_t>(*limit - delivered));
    }
    delivered += bytes.size();
    return sink(bytes);
  };
  auto response = client.send(std::move(request), std::move(http_sink));
  if (!response.ok()) return response.error();
  if (!response->ok()) return error_for(*response);
  if (limit && delivered < *limit && response->status == 206) {
    // A range past the end is cut short by the server; the caller asked for more than exists.
    if (auto content_range = net::parse_content_range(response->headers.get("content-range").value_or(""))) {
      if (content_range->total && range->offset + *limit <= *content_range->total) {
        return Error(ErrorCode::kNetwork,
                     fmt::format("{}: got {} of the {} bytes asked for", where, delivered, *limit));
      }
    }
  }
  return ok_status();
}

namespace {

struct ParallelState {
  std::mutex mutex;
  std::condition_variable ready;
  std::map<std::size_t, Result<std::string>> done;
  // Part buffers are reused: allocating a fresh 16 MiB string per part costs a page fault per
  // 4 KiB, which on small machines showed up as more system time than the copying itself.
  std::vector<std::string> free_buffers;
  int in_flight = 0;
};

}  // namespace

Status http_parallel_get(net::HttpClient& client, const std::function<net::HttpRequest()>& make_request,
                         const ParallelGet& plan, const ByteSink& sink, const HttpErrorMapper& error_for) {
  if (plan.length == 0) return ok_status();
  const std::uint64_t part = std::max<std::uint64_t>(plan.part_size, 64 * 1024);
  const std::size_t parts = static_cast<std::size_t>((plan.length + part - 1) / part);
  const int parallel = std::max(plan.parallel, 1);
  auto state = std::make_shared<ParallelState>();
  auto abort = std::make_shared<std::atomic<bool>>(false);
  // Ask for the next parts while earlier ones are still being delivered, but never hold more
  // than `parallel` + 1 parts in memory.
  const std::size_t max_outstanding = static_cast<std::size_t>(parallel) + 1;

  auto submit = [&](std::size_t index) {
    const std::uint64_t first = plan.offset + index * part;
    const std::uint64_t last = std::min(plan.offset + plan.length, first + part) - 1;
    const std::uint64_t expected = last - first + 1;
    net::HttpRequest request = make_request();
    request.range = net::ByteRange{first, last};
    request.options.cancel = abort;
    const std::string where = request.method + " " + net::display_url(request.url);
    auto buffer = std::make_shared<std::string>();
    {
      std::lock_guard lock(state->mutex);
      ++state->in_flight;
      if (!state->free_buffers.empty()) {
        *buffer = std::move(state->free_buffers.back());
        state->free_buffers.pop_back();
      }
    }
    buffer->clear();
    buffer->reserve(static_cast<std::size_t>(expected));
    net::HttpSink part_sink;
    part_sink.on_headers = [first, last, where](int status, const net::HttpHeaders& headers) -> Status {
      // Every part of a parallel read is a strict sub-range: a 200 means the whole object is
      // coming, once per part. The caller reads it in one stream instead.
      if (status == 200) {
        return Error(ErrorCode::kUnsupported,
                     fmt::format("{}: the server ignored the Range request (200 instead of 206)", where));
      }
      if (status == 206) {
        auto range = net::parse_content_range(headers.get("content-range").value_or(""));
        if (!range || range->first != first) {
          return Error(ErrorCode::kNetwork,
                       fmt::format("{}: the server sent another range than bytes {}-{}", where, first, last));
        }
      }
      return ok_status();
    };
    part_sink.on_data = [buffer, expected, where](std::string_view bytes) -> Status {
      if (bytes.size() > expected - buffer->size()) {
        return Error(ErrorCode::kNetwork, fmt::format("{}: the server sent more than the {} bytes asked for", where,
                                                      expected));
      }
      buffer->append(bytes);
      return ok_status();
    };
    client.submit(std::move(request), std::move(part_sink),
                  [state, index, first, last, expected, where, error_for, buffer](Result<net::HttpResponse> result) {
                    Result<std::string> outcome = std::string();
                    if (!result.ok()) {
                      outcome = std::move(result).error();
                    } else if (!result->ok()) {
                      outcome = error_for(*result);
                    } else if (buffer->size() < expected) {
                      outcome = Error(ErrorCode::kNetwork, fmt::format("{}: got {} of the {} bytes of range {}-{}",
                                                                       where, buffer->size(), expected, first, last));
                    } else {
                      outcome = std::move(*buffer);
                    }
                    std::lock_guard lock(state->mutex);
                    --state->in_flight;
                    state->done.emplace(index, std::move(outcome));
                    state->ready.notify_all();
                  });
  };

  std::size_t next_submit = 0;
  std::size_t next_deliver = 0;
  Status status;
  while (next_deliver < parts) {
    while (next_submit < parts && next_submit - next_deliver < max_outstanding) {
      {
        std::lock_guard lock(state->mutex);
        if (state->in_flight >= parallel) break;
      }
      submit(next_submit++);
    }
    std::optional<Result<std::string>> item;
    {
      std::unique_lock lock(state->mutex);
      state->ready.wait_for(lock, std::chrono::milliseconds(200), [&] { return state->done.count(next_deliver) > 0; });
      auto it = state->done.find(next_deliver);
      if (it != state->done.end()) {
        item.emplace(std::move(it->second));
        state->done.erase(it);
      }
    }
    if (plan.cancel && plan.cancel->load()) {
      status = Error(ErrorCode::kCancelled, "cancelled");
      break;
    }
    if (!item) continue;
    if (!item->ok()) {
      status = std::move(*item).error();
      break;
    }
    status = sink(**item);
    if (!status.ok()) break;
    {
      std::lock_guard lock(state->mutex);
      state->free_buffers.push_back(std::move(**item));
    }
    ++next_deliver;
  }
  if (!status.ok()) {
    // Stop what is still running and wait for it, so no callback outlives this call's work.
    abort->store(true);
    std::unique_lock lock(state->mutex);
    state->ready.wait(lock, [&] { return state->in_flight == 0; });
  }
  return status;
}

net::BodySource http_body(const ByteSource& source, std::uint64_t offset, std::optional<std::uint64_t> length) {
  net::BodySource body;
  const std::uint64_t available = source.size > offset ? source.size - offset : 0;
  body.size = length ? std::min(*length, available) : available;
  auto read = source.read;
  body.read = [read, offset](std::uint64_t at, std::span<char> buffer) -> Result<std::size_t> {
    return read(offset + at, buffer);
  };
  return body;
}

}  // namespace airlock::store
