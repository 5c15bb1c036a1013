// safetensors headers from untrusted files: validation must reject, never crash or read outside
// the bytes it was given.
#include <cstddef>
#include <cstdint>

#include "engine/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> file(data, size);
  auto header = airlock::engine::parse_safetensors_header(file, "fuzz.safetensors");
  if (!header.ok()) return 0;
  // Touch every tensor's bytes the way WeightStore does, so an offset the validation let through
  // out of range shows up as an ASan error.
  std::uint64_t sum = 0;
  for (const auto& t : header->tensors) {
    std::size_t offset = 8 + header->header_bytes + t.begin;
    for (std::size_t i = offset; i < 8 + header->header_bytes + t.end; ++i) sum += data[i];
  }
  return static_cast<int>(sum & 0);
}
