// The model proxy: /inferenceservices/{id}/<path> on the manager is forwarded to the model's
// runtime (<upstream>/<path>), so applications talk to one address whatever deploys the model.
// Callers present the model's own API key (`Authorization: Bearer amk_…`, created with the model)
// or an access key (`x-access-key`); the proxy replaces either with the model's upstream key.
// Responses stream through as they arrive (chunked), with a deadline for the whole exchange and
// the upstream request cancelled when the client goes away.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "net/http_client.h"
#include "net/http_exchange.h"

namespace airlock::manager {

struct ProxyTarget {
  std::string base_url;  // "http://127.0.0.1:41234"
  std::string api_key;   // the upstream key
};

struct ProxyOptions {
  std::chrono::milliseconds timeout{300'000};  // the whole exchange
  std::chrono::milliseconds connect_timeout{5'000};
};

class ModelProxy {
 public:
  static Result<std::unique_ptr<ModelProxy>> create(ProxyOptions options);

  // Forwards `request` (the part of its path after /inferenceservices/{id} is `rest`, still
  // percent-encoded) to `target` and answers through `responder`.
  void forward(const net::ServerRequest& request, const std::string& rest, const ProxyTarget& target,
               net::Responder responder);

 private:
  ModelProxy(ProxyOptions options, std::unique_ptr<net::HttpClient> client)
      : options_(options), client_(std::move(client)) {}
  ProxyOptions options_;
  std::unique_ptr<net::HttpClient> client_;
};

}  // namespace airlock::manager
