// The secrets the manager hands out: access keys (people and automation calling /api/v1), model
// API keys (applications calling a model through the proxy) and the upstream keys the manager
// itself uses towards its model processes. Keys are random, shown once, and stored only as
// sha256 hashes (the upstream keys excepted: the manager must present them); a key's first
// characters are kept so that a person can tell keys apart in a listing.
#pragma once

#include <string>
#include <string_view>

namespace airlock::manager {

inline constexpr std::string_view kAccessKeyPrefix = "alk_";
inline constexpr std::string_view kModelKeyPrefix = "amk_";

// `prefix` + 48 lowercase hex characters (192 random bits from the OS generator).
std::string generate_key(std::string_view prefix);
// A short random id for rows: `prefix` + 16 hex characters.
std::string generate_id(std::string_view prefix);
// sha256 hex of the key: what the database keeps.
std::string key_hash(std::string_view key);
// What a listing shows of a key: its prefix and first 8 random characters, then "…".
std::string key_display_prefix(std::string_view key);

}  // namespace airlock::manager
