// The manager's HTTP surface: the /api/v1 REST API (access keys in `x-access-key`; replies
// {"data": …}, errors {"error": {"code", "message"}}), the model proxy under
// /inferenceservices/{id}/…, the embedded web UI under /ui/, and open health routes for probes.
#pragma once

#include <array>
#include <mutex>
#include <string>

#include "core/result.h"
#include "manager/access_keys.h"
#include "manager/deployer.h"
#include "manager/model_proxy.h"
#include "manager/model_registry.h"
#include "net/http_router.h"
#include "store/store_factory.h"

namespace airlock::manager {

struct ManagerApiOptions {
  std::string public_url;  // how clients reach the manager; empty: from each request's Host
  std::string runtime_image;
  store::StoreConfig store;  // for the check-path action
};

class ManagerApi {
 public:
  ManagerApi(AccessKeys& keys, ModelRegistry& models, Deployer& deployer, ModelProxy& proxy, ManagerApiOptions options)
      : keys_(keys), models_(models), deployer_(deployer), proxy_(proxy), options_(std::move(options)) {}

  Status add_routes(net::Router& router);

  // The endpoint applications use for a model ("" when it is not deployed): --public-url, else
  // the scheme and Host the request came with.
  std::string endpoint_for(const AiModel& model, const net::ServerRequest& request) const;

 private:
  struct Caller {
    AccessKey key;
  };
  // The access key of the request, or the 401/403 answer.
  Result<Caller> authenticate(const net::ServerRequest& request, bool write);
  std::mutex& model_lock(const std::string& id);

  net::ServerResponse list_models(const net::ServerRequest& request);
  net::ServerResponse get_model(const net::ServerRequest& request);
  net::ServerResponse create_model(const net::ServerRequest& request);
  net::ServerResponse patch_model(const net::ServerRequest& request);
  net::ServerResponse delete_model(const net::ServerRequest& request);
  net::ServerResponse create_model_key(const net::ServerRequest& request);
  net::ServerResponse list_model_keys(const net::ServerRequest& request);
  net::ServerResponse delete_model_key(const net::ServerRequest& request);
  net::ServerResponse check_path(const net::ServerRequest& request);
  net::ServerResponse check_model_path(const net::ServerRequest& request);
  net::ServerResponse info(const net::ServerRequest& request);
  net::ServerResponse openapi(const net::ServerRequest& request);
  void proxy(net::ServerRequest request, net::Responder responder);

  AccessKeys& keys_;
  ModelRegistry& models_;
  Deployer& deployer_;
  ModelProxy& proxy_;
  ManagerApiOptions options_;
  std::array<std::mutex, 16> model_locks_;
};

// The HTTP status for an error code (400 for bad input, 404, 409, 401, 403, 503, 504, else 500).
int http_status_for(ErrorCode code);

}  // namespace airlock::manager
