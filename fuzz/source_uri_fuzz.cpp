// Any bytes as a manifest file's source URI: parse_source_uri must return a source or an error,
// and what it returns must name only safe paths (they become cache paths).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/paths.h"
#include "fetch/source_uri.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ref = airlock::fetch::parse_source_uri(text);
  if (!ref.ok()) return 0;
  using airlock::fetch::SourceKind;
  if (!ref->file.empty() && !airlock::validate_relative_path(ref->file, "fuzz").ok()) __builtin_trap();
  if (ref->kind == SourceKind::kNgc || ref->kind == SourceKind::kHuggingFace) {
    if (ref->repo.empty() || ref->revision.empty()) __builtin_trap();
    if (ref->repo.find("..") != std::string::npos) __builtin_trap();
    if (!airlock::validate_relative_path(ref->revision, "fuzz").ok()) __builtin_trap();
  }
  return 0;
}
