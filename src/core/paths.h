// Safe paths: every path that comes from outside (a manifest, a store index, an object key, a
// symlink target) passes through here before anything is written.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.h"

namespace airlock {

// Checks a relative path from outside data: non-empty, not absolute, no "..", no "." or empty
// components, no NUL or backslash, no component longer than 255 bytes. `what` names the
// source in the error ("manifest file path", "index entry").
Status validate_relative_path(std::string_view path, std::string_view what);

// base / relative, after validate_relative_path and a check that no existing component of the
// result is a symlink leading outside `base`. The path need not exist.
Result<std::filesystem::path> safe_join(const std::filesystem::path& base, std::string_view relative,
                                        std::string_view what);

// For a symlink at `link_relative` (relative to a tree's root) pointing at `target`: true when
// the target is relative and, resolved lexically from the link's directory, stays inside the
// tree. Absolute targets always escape.
bool symlink_target_stays_inside(std::string_view link_relative, std::string_view target);

// Lexically normalises a relative path ("a/./b/../c" -> "a/c"); nullopt-like error when it
// climbs above its start.
Result<std::string> normalize_relative(std::string_view path);

// The relative path from directory `from_dir` to file `to`, both relative to the same root:
// ("m/snapshots/rev", "m/blobs/x") -> "../../blobs/x". Used to write relative symlinks.
std::string relative_link_target(std::string_view from_dir, std::string_view to);

// The cache root: $AIRLOCK_CACHE, else $NIM_CACHE_PATH, else ~/.cache/airlock.
std::filesystem::path default_cache_root();

}  // namespace airlock
