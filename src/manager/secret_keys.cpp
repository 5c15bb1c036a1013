#include "manager/secret_keys.h"

#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstdio>

#include "core/hash.h"
#include "core/hex.h"
#include "core/redact.h"

namespace airlock::manager {
namespace {

std::string random_hex(std::size_t bytes) {
  std::array<std::uint8_t, 64> buffer{};
  if (bytes > buffer.size() || RAND_bytes(buffer.data(), static_cast<int>(bytes)) != 1) {
    // Without a working random generator no key is safe to hand out: a broken invariant.
    std::fputs("airlock: the system random generator failed\n", stderr);
    std::abort();
  }
  return to_hex(std::span<const std::uint8_t>(buffer.data(), bytes));
}

}  // namespace

std::string generate_key(std::string_view prefix) {
  std::string key = std::string(prefix) + random_hex(24);
  // Whatever happens to this key later (an error message, a log line), it is never printed.
  register_secret(key);
  return key;
}

std::string generate_id(std::string_view prefix) { return std::string(prefix) + random_hex(8); }

std::string key_hash(std::string_view key) { return sha256_hex(key); }

std::string key_display_prefix(std::string_view key) {
  const std::size_t keep = std::min<std::size_t>(key.size(), key.find('_') == std::string_view::npos ? 8 : key.find('_') + 9);
  return std::string(key.substr(0, keep)) + "…";
}

}  // namespace airlock::manager
