#include "manager/access_keys.h"

#include <fmt/format.h>

#include <chrono>
#include <mutex>
#include <unordered_map>

#include "core/strings.h"
#include "manager/secret_keys.h"

namespace airlock::manager {
namespace {

constexpr std::string_view kColumns = "id, name, role, key_prefix, created_at, last_used_at, revoked_at";

AccessKey from_row(const SqlRow& row) {
  AccessKey key;
  key.id = row.text(0);
  key.name = row.text(1);
  key.role = row.text(2) == "viewer" ? AccessRole::kViewer : AccessRole::kAdmin;
  key.key_prefix = row.text(3);
  key.created_at = row.text(4);
  key.last_used_at = row.text(5);
  key.revoked_at = row.text(6);
  return key;
}

Status validate_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return invalid_argument("an access key name must be 1 to 64 characters");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return invalid_argument("an access key name must not contain control characters");
  }
  return ok_status();
}

}  // namespace

std::string_view role_name(AccessRole role) { return role == AccessRole::kViewer ? "viewer" : "admin"; }

Result<AccessRole> parse_role(std::string_view text) {
  if (iequals(text, "admin")) return AccessRole::kAdmin;
  if (iequals(text, "viewer")) return AccessRole::kViewer;
  return invalid_argument(fmt::format("unknown role '{}': use admin (read and change) or viewer (read only)", text));
}

Json AccessKey::to_json() const {
  Json json = {{"id", id},
               {"name", name},
               {"role", std::string(role_name(role))},
               {"keyPrefix", key_prefix},
               {"createdAt", created_at},
               {"lastUsedAt", last_used_at.empty() ? Json(nullptr) : Json(last_used_at)},
               {"revokedAt", revoked_at.empty() ? Json(nullptr) : Json(revoked_at)}};
  return json;
}

Result<CreatedAccessKey> AccessKeys::create(std::string_view name, AccessRole role) {
  AIRLOCK_TRY(validate_name(name));
  CreatedAccessKey created;
  created.key = generate_key(kAccessKeyPrefix);
  created.record.id = generate_id("ak_");
  created.record.name = std::string(name);
  created.record.role = role;
  created.record.key_prefix = key_display_prefix(created.key);
  created.record.created_at = now_timestamp();
  AIRLOCK_TRY(db_.exec(
      "INSERT INTO access_keys (id, name, role, key_hash, key_prefix, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      {created.record.id, created.record.name, std::string(role_name(role)), key_hash(created.key),
       created.record.key_prefix, created.record.created_at}));
  return created;
}

Result<std::vector<AccessKey>> AccessKeys::list() {
  AIRLOCK_ASSIGN_OR_RETURN(auto rows,
                           db_.query(fmt::format("SELECT {} FROM access_keys ORDER BY created_at, id", kColumns)));
  std::vector<AccessKey> keys;
  for (const SqlRow& row : rows) keys.push_back(from_row(row));
  return keys;
}

Result<AccessKey> AccessKeys::revoke(std::string_view id_or_prefix) {
  const std::string needle(trim(id_or_prefix));
  if (needle.empty()) return invalid_argument("name the access key to revoke by its id (ak_…) or its shown prefix");
  AccessKey revoked;
  Status committed = db_.transaction([&](SqlSession& session) -> Status {
    // "alk_1a2b3c4d…" as listed, or its start without the ellipsis.
    std::string prefix = needle;
    const std::string ellipsis = "…";
    if (prefix.ends_with(ellipsis)) prefix.resize(prefix.size() - ellipsis.size());
    AIRLOCK_ASSIGN_OR_RETURN(
        auto rows, session.query(fmt::format("SELECT {} FROM access_keys WHERE id = ? OR (length(?) >= 8 AND "
                                             "substr(key_prefix, 1, length(?)) = ?)",
                                             kColumns),
                                 {needle, prefix, prefix, prefix}));
    if (rows.empty()) return not_found(fmt::format("no access key '{}': see `airlock manager access-key ls`", needle));
    if (rows.size() > 1) {
      return invalid_argument(fmt::format("'{}' matches {} access keys: give the id (ak_…)", needle, rows.size()));
    }
    revoked = from_row(rows.front());
    if (revoked.revoked()) {
      return Error(ErrorCode::kAlreadyExists,
                   fmt::format("access key {} ({}) was already revoked at {}", revoked.id, revoked.name, revoked.revoked_at));
    }
    revoked.revoked_at = now_timestamp();
    return session.exec("UPDATE access_keys SET revoked_at = ? WHERE id = ?", {revoked.revoked_at, revoked.id});
  });
  if (!committed.ok()) return std::move(committed).error();
  return revoked;
}

Result<AccessKey> AccessKeys::authenticate(std::string_view key) {
  const Error rejected(ErrorCode::kUnauthenticated,
                       "the x-access-key header does not hold a valid access key (unknown or revoked)");
  if (key.empty() || key.size() > 256) return rejected;
  // Looking a key up by its hash compares hashes, never the secret: no timing leak of the key.
  AIRLOCK_ASSIGN_OR_RETURN(auto row, db_.query_one(fmt::format("SELECT {} FROM access_keys WHERE key_hash = ?", kColumns),
                                                   {key_hash(key)}));
  if (!row) return rejected;
  AccessKey record = from_row(*row);
  if (record.revoked()) return rejected;
  // last_used_at is advisory: written at most once a minute per key so that reads stay reads.
  static std::mutex mutex;
  static std::unordered_map<std::string, std::chrono::steady_clock::time_point> written;
  bool write = false;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto& last = written[record.id];
    const auto now = std::chrono::steady_clock::now();
    if (last.time_since_epoch().count() == 0 || now - last > std::chrono::minutes(1)) {
      last = now;
      write = true;
    }
  }
  if (write) {
    record.last_used_at = now_timestamp();
    (void)db_.exec("UPDATE access_keys SET last_used_at = ? WHERE id = ?", {record.last_used_at, record.id});
  }
  return record;
}

Result<bool> AccessKeys::any_valid() {
  AIRLOCK_ASSIGN_OR_RETURN(auto row, db_.query_one("SELECT count(*) FROM access_keys WHERE revoked_at IS NULL"));
  return row && row->integer(0) > 0;
}

}  // namespace airlock::manager
