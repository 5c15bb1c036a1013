// Any bytes as a --target spec and as a --target-file JSON document.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/json.h"
#include "profiles/hardware.h"
#include "profiles/target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  airlock::profiles::CpuInfo cpu;
  auto target = airlock::profiles::parse_target(text, cpu);
  if (target.ok() && target->gpus.size() > static_cast<std::size_t>(airlock::profiles::kMaxTargetGpus)) __builtin_trap();
  auto json = airlock::parse_json(text, "fuzz.json");
  if (json.ok()) {
    auto hardware = airlock::profiles::hardware_from_json(*json, "fuzz.json");
    if (hardware.ok()) {
      // What was read must survive a round trip.
      auto again = airlock::profiles::hardware_from_json(airlock::profiles::hardware_to_json(*hardware), "again");
      if (!again.ok()) __builtin_trap();
    }
  }
  return 0;
}
