// `airlock serve` from start to exit: listen at once (health answers while the model starts),
// pull and verify the cache, select the profile, load the model, serve until SIGTERM or SIGINT,
// then stop gracefully: readiness turns 503, no new connections are accepted, requests in
// flight and queued batches finish (up to the shutdown timeout), and the call returns OK so the
// process exits 0. A startup failure (store unreachable, cache corrupt, no profile for this
// hardware) returns its error, naming the file or setting at fault.
#pragma once

#include "core/result.h"
#include "server/serve_options.h"

namespace airlock::server {

Status run_serve(const ServeOptions& options);

}  // namespace airlock::server
