// Access keys: who may call /api/v1 (header `x-access-key`). Created, listed and revoked with
// `airlock manager access-key create|ls|revoke`; the key is shown once at creation and the
// database keeps only its sha256, so a copied database file grants nothing. Two roles: `admin`
// may change things, `viewer` may only read (a viewer's write is answered 403).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "manager/database.h"

namespace airlock::manager {

enum class AccessRole { kAdmin, kViewer };

std::string_view role_name(AccessRole role);
Result<AccessRole> parse_role(std::string_view text);

struct AccessKey {
  std::string id;  // "ak_<16 hex>": what `revoke` takes
  std::string name;
  AccessRole role = AccessRole::kAdmin;
  std::string key_prefix;  // "alk_1a2b3c4d…"
  std::string created_at;
  std::string last_used_at;  // "" when never used
  std::string revoked_at;    // "" while valid

  bool revoked() const { return !revoked_at.empty(); }
  Json to_json() const;
};

struct CreatedAccessKey {
  AccessKey record;
  std::string key;  // the secret itself: shown once, never stored
};

class AccessKeys {
 public:
  explicit AccessKeys(Database& db) : db_(db) {}

  // `name` is a label for people (1-64 printable characters).
  Result<CreatedAccessKey> create(std::string_view name, AccessRole role);
  Result<std::vector<AccessKey>> list();
  // By id, or by the key's shown prefix when it is unambiguous. Revoking twice is an error
  // that says when it was revoked.
  Result<AccessKey> revoke(std::string_view id_or_prefix);
  // The key's record when it is valid. kUnauthenticated for an unknown or revoked key (the
  // message never contains the key).
  Result<AccessKey> authenticate(std::string_view key);
  // Whether any unrevoked key exists (the manager says how to make one when none does).
  Result<bool> any_valid();

 private:
  Database& db_;
};

}  // namespace airlock::manager
