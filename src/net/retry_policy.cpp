#include "net/retry_policy.h"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <string>

#include "core/strings.h"

namespace airlock::net {
namespace {

}  // namespace

bool is_retryable_status(int status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

bool is_redirect_status(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::chrono::milliseconds backoff_delay(int retry, std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                        double unit_random) {
  if (base.count() <= 0 || cap.count() <= 0) return std::chrono::milliseconds(0);
  // Doubling stops well before overflow; the cap decides from there on.
  double ceiling = static_cast<double>(base.count());
  for (int i = 0; i < std::min(retry, 40) && ceiling < static_cast<double>(cap.count()); ++i) ceiling *= 2;
  ceiling = std::min(ceiling, static_cast<double>(cap.count()));
  double draw = std::clamp(unit_random, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(ceiling * draw));
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    auto seconds = parse_u64(value);
    if (!seconds) return std::nullopt;
    // A huge value is capped by the caller; keep the arithmetic in range here.
    std::uint64_t bounded = std::min<std::uint64_t>(*seconds, 10ULL * 365 * 24 * 3600);
    return std::chrono::milliseconds(static_cast<std::int64_t>(bounded) * 1000);
  }
  // curl_getdate knows the three HTTP-date forms (IMF-fixdate, RFC 850, asctime).
  std::string text(value);
  time_t when = curl_getdate(text.c_str(), nullptr);
  if (when == -1) return std::nullopt;
  auto target = std::chrono::system_clock::from_time_t(when);
  if (target <= now) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(target - now);
}

std::optional<ContentRange> parse_content_range(std::string_view value) {
  value = trim(value);
  constexpr std::string_view kPrefix = "bytes ";
  if (value.size() < kPrefix.size()) return std::nullopt;
  for (std::size_t i = 0; i < kPrefix.size(); ++i) {
    char c = value[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kPrefix[i]) return std::nullopt;
  }
  value.remove_prefix(kPrefix.size());
  value = trim(value);
  auto dash = value.find('-');
  auto slash = value.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash) return std::nullopt;
  auto first = parse_u64(trim(value.substr(0, dash)));
  auto last = parse_u64(trim(value.substr(dash + 1, slash - dash - 1)));
  if (!first || !last || *last < *first) return std::nullopt;
  ContentRange range;
  range.first = *first;
  range.last = *last;
  std::string_view total = trim(value.substr(slash + 1));
  if (total != "*") {
    auto parsed = parse_u64(total);
    if (!parsed || *parsed <= *last) return std::nullopt;
    range.total = parsed;
  }
  return range;
}

}  // namespace airlock::net
