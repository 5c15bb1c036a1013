// The local deployer, the manager's embedded default: one `airlock serve` process per replica of
// each deployed model, on 127.0.0.1 and a free port, with the model's profiles path, a cache
// directory under --data-dir and the model's upstream key. A supervisor thread restarts
// processes that exit (exponential back-off, Failed after repeated failures without ever
// becoming ready), probes /v1/health/ready to set the status, and records every process
// (pid, start time, port, configuration) in the database, so that a manager that restarts --
// even after kill -9 -- picks up the processes still running for the same configuration and
// restarts the others.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "manager/database.h"
#include "manager/deployer.h"
#include "store/store_factory.h"

namespace airlock::manager {

struct LocalDeployerOptions {
  std::filesystem::path data_dir;
  // The program and leading arguments that start a model runtime; the deployer appends serve's
  // flags (--model-profiles-path, --cache-dir, --host, --port, --api-key-file,
  // --served-model-name, --profile). Default: this airlock binary and "serve".
  std::vector<std::string> serve_command;
  std::vector<std::string> extra_serve_args;  // appended last (e.g. --threads 2)
  std::chrono::milliseconds probe_interval{1000};         // while a replica is not ready
  std::chrono::milliseconds ready_probe_interval{5000};   // once it is
  std::chrono::milliseconds restart_backoff{1000};        // first delay; doubles per failure
  std::chrono::milliseconds max_backoff{60'000};
  int fail_after = 5;  // consecutive failures without becoming ready before the status is Failed
  std::chrono::milliseconds stop_grace{15'000};  // SIGTERM to SIGKILL
  store::StoreConfig store;  // to read the store index for the cache state
};

// Creates the deployer and starts its supervisor thread.
Result<std::unique_ptr<Deployer>> make_local_deployer(LocalDeployerOptions options, Database& db, StatusSink sink);

// The serve command used when none is configured: this executable and "serve".
std::vector<std::string> default_serve_command();

}  // namespace airlock::manager
