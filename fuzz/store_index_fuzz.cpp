// Any bytes as a store index (.airlock/index.json comes from the store, i.e. from outside): the
// parser returns an index or an error, never crashes, and whatever it accepts is safe to pull.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/paths.h"
#include "sync/index.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto index = airlock::sync::parse_index(text, "fuzz.json");
  if (!index.ok()) return 0;
  for (const auto& entry : index->entries) {
    if (!airlock::validate_relative_path(entry.path, "entry").ok()) __builtin_trap();
    if (entry.type == airlock::sync::EntryType::kSymlink &&
        !airlock::symlink_target_stays_inside(entry.path, entry.target)) {
      __builtin_trap();
    }
  }
  // What was accepted survives a round trip unchanged.
  auto again = airlock::sync::parse_index(airlock::sync::serialize_index(*index), "round-trip.json");
  if (!again.ok() || again->entries != index->entries) __builtin_trap();
  return 0;
}
