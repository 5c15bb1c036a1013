// Any bytes as files a cache holds that others may have written: a profile record
// (.airlock/profiles/<id>.json) or a checksums.blake3 (the first byte picks). Parsing must fail
// cleanly or yield only names that are safe to turn into paths.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cache/checksums_blake3.h"
#include "cache/hub_layout.h"
#include "cache/profile_record.h"
#include "core/hex.h"
#include "core/json.h"
#include "core/paths.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    auto sums = airlock::cache::parse_checksums_blake3(text, "fuzz");
    if (sums.ok()) {
      for (const auto& [path, hash] : *sums) {
        if (!airlock::validate_relative_path(path, "fuzz").ok() || !airlock::is_lower_hex(hash, 64)) __builtin_trap();
      }
    }
    return 0;
  }
  auto json = airlock::parse_json(text, "fuzz");
  if (!json.ok()) return 0;
  auto record = airlock::cache::record_from_json(*json, "fuzz");
  if (!record.ok()) return 0;
  if (!airlock::cache::validate_profile_id(record->id).ok()) __builtin_trap();
  airlock::cache::CacheLayout layout("/cache");
  for (const auto& file : record->files) {
    if (!airlock::validate_relative_path(file.path, "fuzz").ok()) __builtin_trap();
    std::string where = layout.relative(layout.snapshot_dir(file.repo, file.snapshot) / file.file);
    if (where.find("..") != std::string::npos || where.empty() || where.front() == '/') __builtin_trap();
  }
  return 0;
}
