#include "manager/model_registry.h"

#include <fmt/format.h>

#include "core/redact.h"
#include "core/strings.h"
#include "manager/secret_keys.h"

namespace airlock::manager {
namespace {

constexpr std::string_view kColumns =
    "id, name, kind, description, image_url, model_profiles_path, profile, gpu_type, gpu_count, cpu, memory, replicas, "
    "is_default, status, status_message, cache_json, generation, created_at, updated_at";

AiModel from_row(const SqlRow& row) {
  AiModel model;
  model.id = row.text(0);
  model.name = row.text(1);
  model.kind = parse_kind(row.text(2)).value_or(ModelKind::kEmbedding);
  model.description = row.text(3);
  model.image_url = row.text(4);
  model.model_profiles_path = row.text(5);
  model.profile = row.text(6);
  model.compute.gpu_type = row.text(7);
  model.compute.gpu_count = static_cast<int>(row.integer(8));
  model.compute.cpu = row.text(9);
  model.compute.memory = row.text(10);
  model.replicas = static_cast<int>(row.integer(11));
  model.is_default = row.integer(12) != 0;
  model.status = parse_status(row.text(13)).value_or(ModelStatus::kUnknown);
  model.status_message = row.text(14);
  auto cache = parse_json(row.text(15), "cache_json");
  if (cache.ok()) model.cache = CacheState::from_json(*cache);
  model.generation = row.integer(16);
  model.created_at = row.text(17);
  model.updated_at = row.text(18);
  return model;
}

std::vector<SqlValue> row_values(const AiModel& m) {
  return {m.id,
          m.name,
          std::string(kind_name(m.kind)),
          m.description,
          m.image_url,
          m.model_profiles_path,
          m.profile,
          m.compute.gpu_type,
          std::int64_t{m.compute.gpu_count},
          m.compute.cpu,
          m.compute.memory,
          std::int64_t{m.replicas},
          std::int64_t{m.is_default ? 1 : 0},
          std::string(status_name(m.status)),
          m.status_message,
          dump_json(m.cache.to_json()),
          m.generation,
          m.created_at,
          m.updated_at};
}

Status insert_model(SqlSession& session, const AiModel& model) {
  AIRLOCK_ASSIGN_OR_RETURN(auto same, session.query("SELECT id, name FROM ai_models"));
  for (const SqlRow& row : same) {
    AiModel other;
    other.name = row.text(1);
    if (other.name == model.name) {
      return Error(ErrorCode::kAlreadyExists,
                   fmt::format("a model named '{}' already exists (id {}): choose another name", model.name, row.text(0)));
    }
    if (other.kubernetes_name() == model.kubernetes_name()) {
      return Error(ErrorCode::kAlreadyExists,
                   fmt::format("the name '{}' would share the Kubernetes name '{}' with model '{}': choose another name",
                               model.name, model.kubernetes_name(), other.name));
    }
  }
  return session.exec(fmt::format("INSERT INTO ai_models ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                  kColumns),
                      row_values(model));
}

ModelApiKey key_from_row(const SqlRow& row) {
  return ModelApiKey{row.text(0), row.text(1), row.text(2), row.text(3)};
}

}  // namespace

Json ModelApiKey::to_json() const {
  return {{"id", id}, {"keyPrefix", key_prefix}, {"createdAt", created_at}};
}

Result<std::vector<AiModel>> ModelRegistry::list(const ModelFilter& filter) {
  std::string sql = fmt::format("SELECT {} FROM ai_models WHERE 1 = 1", kColumns);
  std::vector<SqlValue> params;
  if (filter.kind) {
    sql += " AND kind = ?";
    params.emplace_back(std::string(kind_name(*filter.kind)));
  }
  if (filter.status) {
    sql += " AND status = ?";
    params.emplace_back(std::string(status_name(*filter.status)));
  }
  if (filter.is_default) {
    sql += " AND is_default = ?";
    params.emplace_back(std::int64_t{*filter.is_default ? 1 : 0});
  }
  if (!filter.name_contains.empty()) {
    sql += " AND instr(lower(name), ?) > 0";
    params.emplace_back(to_lower(filter.name_contains));
  }
  sql += " ORDER BY is_default DESC, created_at, name";
  AIRLOCK_ASSIGN_OR_RETURN(auto rows, db_.query(sql, params));
  std::vector<AiModel> models;
  models.reserve(rows.size());
  for (const SqlRow& row : rows) models.push_back(from_row(row));
  return models;
}

Result<std::optional<AiModel>> ModelRegistry::find(std::string_view id_or_name) {
  AIRLOCK_ASSIGN_OR_RETURN(
      auto row, db_.query_one(fmt::format("SELECT {} FROM ai_models WHERE id = ? OR name = ? ORDER BY id = ? DESC LIMIT 1",
                                          kColumns),
                              {std::string(id_or_name), std::string(id_or_name), std::string(id_or_name)}));
  if (!row) return std::optional<AiModel>();
  return std::optional<AiModel>(from_row(*row));
}

Result<CreatedModel> ModelRegistry::create(AiModel model) {
  CreatedModel created;
  model.id = generate_id("m-");
  model.created_at = model.updated_at = now_timestamp();
  model.generation = 1;
  if (!model.deployable()) {
    model.status = ModelStatus::kUnknown;
    model.status_message = model.model_profiles_path.empty()
                               ? "not deployed: set modelProfilesPath to the store path of its cache"
                               : "scaled to zero replicas";
  } else {
    model.status = ModelStatus::kPending;
    model.status_message = "waiting for the deployer";
  }
  created.key = generate_key(kModelKeyPrefix);
  created.api_key = ModelApiKey{generate_id("mk_"), model.id, key_display_prefix(created.key), model.created_at};
  const std::string upstream = generate_key("aup_");
  Status committed = db_.transaction([&](SqlSession& session) -> Status {
    AIRLOCK_TRY(insert_model(session, model));
    AIRLOCK_TRY(session.exec("INSERT INTO model_api_keys (id, model_id, key_hash, key_prefix, created_at) VALUES (?, ?, ?, ?, ?)",
                             {created.api_key.id, model.id, key_hash(created.key), created.api_key.key_prefix,
                              created.api_key.created_at}));
    return session.exec("INSERT INTO model_secrets (model_id, upstream_key) VALUES (?, ?)", {model.id, upstream});
  });
  if (!committed.ok()) return std::move(committed).error();
  created.model = std::move(model);
  return created;
}

Result<AiModel> ModelRegistry::update(AiModel model, bool redeploy) {
  model.updated_at = now_timestamp();
  Status committed = db_.transaction([&](SqlSession& session) -> Status {
    AIRLOCK_ASSIGN_OR_RETURN(auto row, session.query_one("SELECT generation FROM ai_models WHERE id = ?", {model.id}));
    if (!row) return not_found(fmt::format("no model '{}'", model.id));
    model.generation = row->integer(0) + (redeploy ? 1 : 0);
    if (redeploy) {
      model.status = model.deployable() ? ModelStatus::kPending : ModelStatus::kUnknown;
      model.status_message = model.deployable() ? "redeploying after a change"
                             : model.model_profiles_path.empty()
                                 ? "not deployed: set modelProfilesPath to the store path of its cache"
                                 : "scaled to zero replicas";
    }
    return session.exec(
        "UPDATE ai_models SET description = ?, image_url = ?, model_profiles_path = ?, profile = ?, gpu_type = ?, "
        "gpu_count = ?, cpu = ?, memory = ?, replicas = ?, status = ?, status_message = ?, generation = ?, updated_at = ? "
        "WHERE id = ?",
        {model.description, model.image_url, model.model_profiles_path, model.profile, model.compute.gpu_type,
         std::int64_t{model.compute.gpu_count}, model.compute.cpu, model.compute.memory, std::int64_t{model.replicas},
         std::string(status_name(model.status)), model.status_message, model.generation, model.updated_at, model.id});
  });
  if (!committed.ok()) return std::move(committed).error();
  return model;
}

Status ModelRegistry::remove(std::string_view id) {
  bool found = false;
  Status committed = db_.transaction([&](SqlSession& session) -> Status {
    AIRLOCK_TRY(session.exec("DELETE FROM ai_models WHERE id = ?", {std::string(id)}));
    found = session.changes() > 0;
    return ok_status();
  });
  if (!committed.ok()) return std::move(committed).error();
  if (!found) return not_found(fmt::format("no model '{}'", id));
  return ok_status();
}

Result<bool> ModelRegistry::set_status(std::string_view id, ModelStatus status, std::string_view message,
                                       const CacheState& cache) {
  bool changed = false;
  Status committed = db_.transaction([&](SqlSession& session) -> Status {
    AIRLOCK_TRY(session.exec(
        "UPDATE ai_models SET status = ?, status_message = ?, cache_json = ? WHERE id = ? AND "
        "(status != ? OR status_message != ? OR cache_json != ?)",
        {std::string(status_name(status)), std::string(message), dump_json(cache.to_json()), std::string(id),
         std::string(status_name(status)), std::string(message), dump_json(cache.to_json())}));
    changed = session.changes() > 0;
    return ok_status();
  });
  if (!committed.ok()) return std::move(committed).error();
  return changed;
}

Result<std::string> ModelRegistry::upstream_key(std::string_view model_id) {
  AIRLOCK_ASSIGN_OR_RETURN(auto row,
                           db_.query_one("SELECT upstream_key FROM model_secrets WHERE model_id = ?", {std::string(model_id)}));
  if (!row) return not_found(fmt::format("no model '{}'", model_id));
  std::string key = row->text(0);
  register_secret(key);
  return key;
}

Result<CreatedModel> ModelRegistry::add_api_key(std::string_view model_id) {
  AIRLOCK_ASSIGN_OR_RETURN(auto model, find(model_id));
  if (!model) return not_found(fmt::format("no model '{}'", model_id));
  CreatedModel created;
  created.model = *model;
  created.key = generate_key(kModelKeyPrefix);
  created.api_key = ModelApiKey{generate_id("mk_"), model->id, key_display_prefix(created.key), now_timestamp()};
  AIRLOCK_TRY(db_.exec("INSERT INTO model_api_keys (id, model_id, key_hash, key_prefix, created_at) VALUES (?, ?, ?, ?, ?)",
                       {created.api_key.id, model->id, key_hash(created.key), created.api_key.key_prefix,
                        created.api_key.created_at}));
  return created;
}

Result<std::vector<ModelApiKey>> ModelRegistry::api_keys(std::string_view model_id) {
  AIRLOCK_ASSIGN_OR_RETURN(auto rows, db_.query("SELECT id, model_id, key_prefix, created_at FROM model_api_keys WHERE "
                                                "model_id = ? ORDER BY created_at, id",
                                                {std::string(model_id)}));
  std::vector<ModelApiKey> keys;
  for (const SqlRow& row : rows) keys.push_back(key_from_row(row));
  return keys;
}

Status ModelRegistry::revoke_api_key(std::string_view model_id, std::string_view key_id) {
  bool found = false;
  Status committed = db_.transaction([&](SqlSession& session) -> Status {
    AIRLOCK_TRY(session.exec("DELETE FROM model_api_keys WHERE model_id = ? AND id = ?",
                             {std::string(model_id), std::string(key_id)}));
    found = session.changes() > 0;
    return ok_status();
  });
  if (!committed.ok()) return std::move(committed).error();
  if (!found) return not_found(fmt::format("model '{}' has no API key '{}'", model_id, key_id));
  return ok_status();
}

Result<std::optional<std::string>> ModelRegistry::model_for_key(std::string_view key) {
  if (key.empty() || key.size() > 256) return std::optional<std::string>();
  AIRLOCK_ASSIGN_OR_RETURN(auto row, db_.query_one("SELECT model_id FROM model_api_keys WHERE key_hash = ?", {key_hash(key)}));
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(row->text(0));
}

Result<int> ModelRegistry::seed_defaults(const std::vector<AiModel>& defaults) {
  int inserted = 0;
  Status committed = db_.transaction([&](SqlSession& session) -> Status {
    AIRLOCK_ASSIGN_OR_RETURN(auto seeded, session.query_one("SELECT value FROM meta WHERE key = 'seeded_defaults'"));
    if (seeded) return ok_status();
    const std::string now = now_timestamp();
    for (AiModel model : defaults) {
      model.id = generate_id("m-");
      model.is_default = true;
      model.created_at = model.updated_at = now;
      model.status = ModelStatus::kUnknown;
      model.status_message = "not deployed: set modelProfilesPath to the store path of its cache";
      AIRLOCK_TRY(insert_model(session, model));
      AIRLOCK_TRY(session.exec("INSERT INTO model_secrets (model_id, upstream_key) VALUES (?, ?)",
                               {model.id, generate_key("aup_")}));
      ++inserted;
    }
    return session.exec("INSERT INTO meta (key, value) VALUES ('seeded_defaults', ?)", {now});
  });
  if (!committed.ok()) return std::move(committed).error();
  return inserted;
}

}  // namespace airlock::manager
