// Deployer: what turns a model in the database into something running, and reports how it is
// doing. Two implementations: `local` runs `airlock serve` processes on this machine
// (local_deployer.h); `kubernetes` renders and applies manifests (kubernetes_deployer.h).
// The manager calls apply() after every create or change and for every model at start-up
// (which is how a restarted manager picks its models up again), and remove() on delete.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "manager/ai_model.h"

namespace airlock::manager {

// Where the model proxy sends a model's requests, and the key it presents there.
struct Upstream {
  std::string base_url;  // "http://127.0.0.1:41234", no trailing slash
  std::string api_key;
};

// How a deployer reports a model's state (the manager writes it to the database).
using StatusSink =
    std::function<void(const std::string& model_id, ModelStatus status, const std::string& message, const CacheState& cache)>;

class Deployer {
 public:
  virtual ~Deployer() = default;
  virtual std::string_view name() const = 0;
  // Brings the model's deployment in line with `model`: starts it, restarts it after a change
  // that needs one, scales it, or stops it when it is no longer deployable. Returns quickly;
  // progress arrives through the StatusSink. `upstream_key` is the key the model's runtime
  // must accept (the proxy presents it).
  virtual Status apply(const AiModel& model, const std::string& upstream_key) = 0;
  // Stops and removes everything the model had; returns once it is gone.
  virtual Status remove(const std::string& model_id) = 0;
  // Where to send a model's requests; nullopt when it has nowhere to go yet.
  virtual std::optional<Upstream> upstream(const std::string& model_id) = 0;
  // Called once at start-up after apply() has been called for every model in the database:
  // whatever the deployer still runs for models not among them is stopped.
  virtual void forget_others(const std::vector<std::string>& model_ids) = 0;
  // The manager is stopping. `stop_models`: stop what runs (else leave it for the next start to
  // pick up again, where the deployer can).
  virtual void shutdown(bool stop_models) = 0;
};

}  // namespace airlock::manager
