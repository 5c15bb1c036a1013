// The models in the manager's database: create, read, change, delete, status updates from the
// deployers, and each model's API keys (applications present them to the model proxy; stored as
// hashes) and upstream key (what the proxy presents to the model's runtime). Safe to call from
// many threads: every change is one SQLite transaction.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "manager/ai_model.h"
#include "manager/database.h"

namespace airlock::manager {

struct ModelFilter {
  std::optional<ModelKind> kind;
  std::optional<ModelStatus> status;
  std::optional<bool> is_default;
  std::string name_contains;  // case-insensitive substring of the name
};

struct ModelApiKey {
  std::string id;  // "mk_<16 hex>"
  std::string model_id;
  std::string key_prefix;
  std::string created_at;
  Json to_json() const;
};

struct CreatedModel {
  AiModel model;
  ModelApiKey api_key;
  std::string key;  // the model API key, shown once
};

class ModelRegistry {
 public:
  explicit ModelRegistry(Database& db) : db_(db) {}

  Result<std::vector<AiModel>> list(const ModelFilter& filter = {});
  // By id, else by name.
  Result<std::optional<AiModel>> find(std::string_view id_or_name);
  // Assigns id and timestamps, makes the first API key and the upstream key. A name (or its
  // Kubernetes form) already in use is kAlreadyExists.
  Result<CreatedModel> create(AiModel model);
  // Stores `model` as changed by a PATCH; `redeploy` bumps its generation.
  Result<AiModel> update(AiModel model, bool redeploy);
  // kNotFound when there is no such model.
  Status remove(std::string_view id);
  // Written by the deployers; returns whether anything changed.
  Result<bool> set_status(std::string_view id, ModelStatus status, std::string_view message, const CacheState& cache);

  Result<std::string> upstream_key(std::string_view model_id);
  Result<CreatedModel> add_api_key(std::string_view model_id);
  Result<std::vector<ModelApiKey>> api_keys(std::string_view model_id);
  Status revoke_api_key(std::string_view model_id, std::string_view key_id);
  // The model a key belongs to, or nullopt.
  Result<std::optional<std::string>> model_for_key(std::string_view key);

  // Inserts `defaults` the first time the database is seeded (a later deletion sticks).
  // Returns how many were inserted.
  Result<int> seed_defaults(const std::vector<AiModel>& defaults);

 private:
  Database& db_;
};

}  // namespace airlock::manager
