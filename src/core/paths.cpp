#include "core/paths.h"

#include <sys/stat.h>

#include <fmt/format.h>

#include <cerrno>
#include <vector>

#include "core/env.h"

namespace airlock {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kMaxComponent = 255;

std::vector<std::string_view> split_components(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

std::string printable(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

Status validate_relative_path(std::string_view path, std::string_view what) {
  auto reject = [&](std::string_view why) {
    return invalid_argument(fmt::format("{} '{}' {}", what, printable(path), why));
  };
  if (path.empty()) return reject("is empty");
  if (path.find('\0') != std::string_view::npos) return reject("contains a NUL byte");
  if (path.front() == '/') return reject("is absolute; only paths relative to the tree are allowed");
  if (path.find('\\') != std::string_view::npos) return reject("contains a backslash");
  for (std::string_view part : split_components(path)) {
    if (part == "..") return reject("contains '..' and could escape its directory");
    if (part.empty()) return reject("contains an empty component ('//' or a trailing '/')");
    if (part == ".") return reject("contains a '.' component");
    if (part.size() > kMaxComponent) return reject("has a component longer than 255 bytes");
  }
  return ok_status();
}

Result<fs::path> safe_join(const fs::path& base, std::string_view relative, std::string_view what) {
  AIRLOCK_TRY(validate_relative_path(relative, what));
  // Walk the existing prefix: a component that is a symlink must not lead outside `base`
  // (a hostile tree could plant "models -> /etc" and have us write through it).
  std::error_code ec;
  fs::path base_real = fs::weakly_canonical(base, ec);
  if (ec) base_real = base;
  fs::path current = base;
  std::string walked;
  auto parts = split_components(relative);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    current /= std::string(parts[i]);
    if (!walked.empty()) walked += '/';
    walked.append(parts[i]);
    struct stat st {};
    if (::lstat(current.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) break;  // nothing further exists yet
      return errno_error(fmt::format("cannot inspect {}", current.string()), errno);
    }
    if (S_ISLNK(st.st_mode)) {
      fs::path resolved = fs::weakly_canonical(current, ec);
      if (ec) return io_error(fmt::format("cannot resolve symlink {}: {}", current.string(), ec.message()));
      auto rel = resolved.lexically_relative(base_real);
      if (rel.empty() || *rel.begin() == "..") {
        return invalid_argument(
            fmt::format("{} '{}' passes through symlink '{}' that leads outside {}", what, relative, walked, base.string()));
      }
    }
  }
  return base / std::string(relative);
}

bool symlink_target_stays_inside(std::string_view link_relative, std::string_view target) {
  if (target.empty() || target.front() == '/' || target.find('\0') != std::string_view::npos) return false;
  std::vector<std::string_view> stack;
  auto link_parts = split_components(link_relative);
  // Start from the link's directory.
  for (std::size_t i = 0; i + 1 < link_parts.size(); ++i) {
    if (link_parts[i].empty() || link_parts[i] == ".") continue;
    if (link_parts[i] == "..") return false;
    stack.push_back(link_parts[i]);
  }
  for (std::string_view part : split_components(target)) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (stack.empty()) return false;
      stack.pop_back();
    } else {
      stack.push_back(part);
    }
  }
  return !stack.empty();
}

Result<std::string> normalize_relative(std::string_view path) {
  std::vector<std::string_view> stack;
  for (std::string_view part : split_components(path)) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (stack.empty()) return invalid_argument(fmt::format("path '{}' climbs above its start", path));
      stack.pop_back();
    } else {
      stack.push_back(part);
    }
  }
  std::string out;
  for (std::string_view part : stack) {
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

std::string relative_link_target(std::string_view from_dir, std::string_view to) {
  auto from = split_components(from_dir);
  auto dest = split_components(to);
  std::erase_if(from, [](std::string_view p) { return p.empty() || p == "."; });
  std::erase_if(dest, [](std::string_view p) { return p.empty() || p == "."; });
  std::size_t common = 0;
  while (common < from.size() && common + 1 < dest.size() && from[common] == dest[common]) ++common;
  std::string out;
  for (std::size_t i = common; i < from.size(); ++i) out += "../";
  for (std::size_t i = common; i < dest.size(); ++i) {
    out += dest[i];
    if (i + 1 < dest.size()) out += '/';
  }
  return out;
}

fs::path default_cache_root() {
  if (auto value = get_env("AIRLOCK_CACHE")) return *value;
  if (auto value = get_env("NIM_CACHE_PATH")) return *value;
  if (auto home = get_env("HOME")) return fs::path(*home) / ".cache" / "airlock";
  return fs::path("/tmp") / "airlock-cache";
}

}  // namespace airlock
