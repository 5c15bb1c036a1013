// Router: which handler answers a method and path. Patterns are "/v1/models" (exact),
// "/api/v1/ai-models/{id}" ({name} matches one non-empty segment, percent-decoded) and
// "/inferenceservices/{id}/{rest*}" (a trailing {name*} matches the rest of the path, kept
// percent-encoded so a proxy can forward it unchanged: "/ui/{file*}" matches "/ui", "/ui/" and
// "/ui/a/b.js"). When several routes match,
// the most literal one wins (segment by segment: literal, then {name}, then {name*}), and among
// equals the first added. HEAD requests reach GET routes unless a HEAD route exists.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "net/http_exchange.h"

namespace airlock::net {

// Answers through `responder`, now or later from any thread. Runs on a worker thread.
using Handler = std::function<void(ServerRequest request, Responder responder)>;
// Returns the answer. Runs on a worker thread; may block (it holds a worker while it does).
using SyncHandler = std::function<ServerResponse(const ServerRequest& request)>;

struct RouteOptions {
  // Overrides HttpServerOptions::max_body_bytes for this route (413 beyond).
  std::optional<std::uint64_t> max_body_bytes;
  // Run the handler on the event-loop thread instead of a worker: saves two thread hand-offs
  // per request, for handlers that answer at once from memory (health, metrics). A handler that
  // blocks here stalls every connection of its loop.
  bool on_event_loop = false;
};

struct Route {
  std::string method;
  std::string pattern;
  Handler handler;
  RouteOptions options;
  // The parsed pattern: literal text, or a parameter name.
  struct Segment {
    enum class Kind { kLiteral, kParam, kRest };
    Kind kind = Kind::kLiteral;
    std::string text;
  };
  std::vector<Segment> segments;
};

struct RouteMatch {
  const Route* route = nullptr;  // null: no route for this method and path
  std::vector<std::pair<std::string, std::string>> params;
  // When `route` is null: the methods the path has routes for (405 with Allow), sorted, with
  // HEAD where GET is and OPTIONS; empty when no route has the path (404).
  std::vector<std::string> allowed;
};

class Router {
 public:
  // Invalid patterns (not starting with '/', a {name*} that is not last, an empty or repeated
  // parameter name, or a method that is not a token) are errors, reported when routes are set up.
  Status add(std::string method, std::string pattern, Handler handler, RouteOptions options = {});
  Status add(std::string method, std::string pattern, SyncHandler handler, RouteOptions options = {});

  // Matches `path` (percent-encoded, without the query, as in ServerRequest::path).
  RouteMatch match(std::string_view method, std::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace airlock::net
