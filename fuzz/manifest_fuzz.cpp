// Any bytes as a model manifest: the parser must return a manifest or an error, never crash,
// hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "profiles/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto manifest = airlock::profiles::parse_manifest(text, "fuzz.yaml");
  if (manifest.ok()) {
    // Whatever parsed must be usable downstream: every path is safe, every profile has an id.
    for (const auto& profile : manifest->profiles) {
      if (profile.id.empty()) __builtin_trap();
      for (const auto& file : profile.files) {
        if (file.path.empty() || file.path.front() == '/' || file.path.find("..") == 0) __builtin_trap();
      }
    }
  } else if (manifest.error().message().rfind("fuzz.yaml:", 0) != 0) {
    __builtin_trap();  // every error names file:line:column
  }
  return 0;
}
