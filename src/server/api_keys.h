// Bearer API keys for the model API. Several keys may be valid at once (rotation: add the new
// key, move the clients, drop the old one). A presented key is compared against every key in
// constant time: both sides are first reduced to an HMAC under a per-process random secret, so
// neither the length nor the content of a valid key leaks through timing.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::server {

class ApiKeys {
 public:
  ApiKeys() = default;  // no keys: every request is allowed
  explicit ApiKeys(const std::vector<std::string>& keys);

  bool enabled() const { return !digests_.empty(); }
  std::size_t size() const { return digests_.size(); }
  // Whether `authorization` (the Authorization header's value) is "Bearer <a valid key>". The
  // scheme is case-insensitive; anything else is refused. Always true when no keys are set.
  bool allows(std::string_view authorization) const;

 private:
  using Digest = std::array<unsigned char, 32>;
  Digest digest(std::string_view key) const;
  std::string secret_;
  std::vector<Digest> digests_;
};

}  // namespace airlock::server
