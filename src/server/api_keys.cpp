#include "server/api_keys.h"

#include <cstring>
#include <random>

#include "core/hash.h"
#include "core/strings.h"

namespace airlock::server {

ApiKeys::ApiKeys(const std::vector<std::string>& keys) {
  std::random_device device;
  secret_.resize(32);
  for (char& c : secret_) c = static_cast<char>(device() & 0xff);
  for (const std::string& key : keys) {
    if (!key.empty()) digests_.push_back(digest(key));
  }
}

ApiKeys::Digest ApiKeys::digest(std::string_view key) const {
  std::string mac = hmac_sha256(secret_, key);
  Digest d{};
  std::memcpy(d.data(), mac.data(), std::min(mac.size(), d.size()));
  return d;
}

bool ApiKeys::allows(std::string_view authorization) const {
  if (digests_.empty()) return true;
  authorization = trim(authorization);
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() || !iequals(authorization.substr(0, kScheme.size()), kScheme)) return false;
  std::string_view presented = trim(authorization.substr(kScheme.size()));
  if (presented.empty()) return false;
  const Digest given = digest(presented);
  // Every key is compared, all bytes of each, whatever matches first.
  unsigned match = 0;
  for (const Digest& d : digests_) {
    unsigned char diff = 0;
    for (std::size_t i = 0; i < d.size(); ++i) diff |= static_cast<unsigned char>(d[i] ^ given[i]);
    match |= static_cast<unsigned>(diff == 0);
  }
  return match != 0;
}

}  // namespace airlock::server
