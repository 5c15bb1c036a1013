#include "net/http_router.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/strings.h"
#include "core/uri.h"
#include "net/http_parser.h"

namespace airlock::net {
namespace {

Result<std::vector<Route::Segment>> parse_pattern(std::string_view pattern) {
  if (pattern.empty() || pattern.front() != '/') {
    return invalid_argument(fmt::format("route pattern '{}' must start with '/'", pattern));
  }
  std::vector<Route::Segment> segments;
  std::set<std::string, std::less<>> names;
  std::vector<std::string_view> pieces = split(pattern.substr(1), '/');
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    std::string_view piece = pieces[i];
    Route::Segment segment;
    if (piece.size() >= 2 && piece.front() == '{' && piece.back() == '}') {
      std::string_view name = piece.substr(1, piece.size() - 2);
      segment.kind = Route::Segment::Kind::kParam;
      if (!name.empty() && name.back() == '*') {
        if (i + 1 != pieces.size()) {
          return invalid_argument(fmt::format("route pattern '{}': {{{}}} must be the last segment", pattern, name));
        }
        segment.kind = Route::Segment::Kind::kRest;
        name.remove_suffix(1);
      }
      if (name.empty() || name.find_first_of("{}/") != std::string_view::npos) {
        return invalid_argument(fmt::format("route pattern '{}' has an invalid parameter name", pattern));
      }
      if (!names.insert(std::string(name)).second) {
        return invalid_argument(fmt::format("route pattern '{}' repeats parameter '{}'", pattern, name));
      }
      segment.text = std::string(name);
    } else {
      if (piece.find_first_of("{}") != std::string_view::npos) {
        return invalid_argument(fmt::format("route pattern '{}': braces must enclose a whole segment", pattern));
      }
      segment.text = std::string(piece);
    }
    segments.push_back(std::move(segment));
  }
  return segments;
}

// Ranks of each segment as matched (0 literal, 1 parameter, 2 rest), or nullopt.
std::optional<std::vector<int>> match_route(const Route& route, std::string_view path,
                                            std::vector<std::pair<std::string, std::string>>& params) {
  if (path.empty() || path.front() != '/') return std::nullopt;
  std::string_view rest = path.substr(1);
  bool more = true;  // whether `rest` still holds a segment (it may be an empty one)
  std::vector<int> ranks;
  params.clear();
  for (const Route::Segment& segment : route.segments) {
    if (segment.kind == Route::Segment::Kind::kRest) {
      params.emplace_back(segment.text, more ? std::string(rest) : std::string());
      ranks.push_back(2);
      return ranks;
    }
    if (!more) return std::nullopt;  // the path has fewer segments
    std::size_t slash = rest.find('/');
    std::string_view piece = rest.substr(0, slash);
    auto decoded = percent_decode(piece);
    if (!decoded.ok()) return std::nullopt;
    if (segment.kind == Route::Segment::Kind::kLiteral) {
      if (*decoded != segment.text) return std::nullopt;
      ranks.push_back(0);
    } else {
      if (decoded->empty()) return std::nullopt;
      params.emplace_back(segment.text, std::move(decoded).value());
      ranks.push_back(1);
    }
    more = slash != std::string_view::npos;
    rest = more ? rest.substr(slash + 1) : std::string_view();
  }
  if (more) return std::nullopt;  // the path has more segments
  return ranks;
}

}  // namespace

Status Router::add(std::string method, std::string pattern, Handler handler, RouteOptions options) {
  if (!is_http_token(method)) return invalid_argument(fmt::format("route method '{}' is not a valid method", method));
  if (!handler) return invalid_argument(fmt::format("route {} {} has no handler", method, pattern));
  AIRLOCK_ASSIGN_OR_RETURN(auto segments, parse_pattern(pattern));
  Route route;
  route.method = std::move(method);
  route.pattern = std::move(pattern);
  route.handler = std::move(handler);
  route.options = options;
  route.segments = std::move(segments);
  routes_.push_back(std::move(route));
  return ok_status();
}

Status Router::add(std::string method, std::string pattern, SyncHandler handler, RouteOptions options) {
  if (!handler) return invalid_argument(fmt::format("route {} {} has no handler", method, pattern));
  Handler wrapped = [handler = std::move(handler)](ServerRequest request, Responder responder) {
    responder.respond(handler(request));
  };
  return add(std::move(method), std::move(pattern), std::move(wrapped), options);
}

RouteMatch Router::match(std::string_view method, std::string_view path) const {
  RouteMatch result;
  std::optional<std::vector<int>> best_rank;
  bool best_is_exact_method = false;
  std::set<std::string> allowed;
  std::vector<std::pair<std::string, std::string>> params;
  for (const Route& route : routes_) {
    auto rank = match_route(route, path, params);
    if (!rank) continue;
    allowed.insert(route.method);
    bool exact = route.method == method;
    bool fallback = method == "HEAD" && route.method == "GET";
    if (!exact && !fallback) continue;
    // An explicit HEAD route beats GET's; otherwise the most literal pattern wins.
    bool better = !best_rank || (exact && !best_is_exact_method) ||
                  (exact == best_is_exact_method && *rank < *best_rank);
    if (better) {
      best_rank = std::move(rank);
      best_is_exact_method = exact;
      result.route = &route;
      result.params = params;
    }
  }
  if (result.route == nullptr && !allowed.empty()) {
    if (allowed.count("GET") != 0) allowed.insert("HEAD");
    allowed.insert("OPTIONS");
    result.allowed.assign(allowed.begin(), allowed.end());
  }
  return result;
}

}  // namespace airlock::net
