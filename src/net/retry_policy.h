// When and how long to wait before trying a request again. Pure functions, so that the rules are
// testable without a server and the same for every caller.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace airlock::net {

// 429 and the 5xx statuses that mean "not now" rather than "never": 500, 502, 503, 504.
bool is_retryable_status(int status);

// 301, 302, 303, 307, 308.
bool is_redirect_status(int status);

// Full-jitter exponential backoff: a uniformly random delay in [0, min(cap, base * 2^retry)].
// `retry` counts from 0 for the first retry; `unit_random` is a draw from [0, 1).
std::chrono::milliseconds backoff_delay(int retry, std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                        double unit_random);

// Retry-After as delta-seconds ("120") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT"),
// relative to `now`. A date in the past means "now" (zero). nullopt when the value is neither.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// A Content-Range response value "bytes first-last/total" (total may be "*").
struct ContentRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
  std::optional<std::uint64_t> total;
};
std::optional<ContentRange> parse_content_range(std::string_view value);

}  // namespace airlock::net
