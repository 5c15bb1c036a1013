#include "sync/index.h"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <unordered_map>
#include <unordered_set>

#include "core/hex.h"
#include "core/paths.h"
#include "core/strings.h"
#include "core/version.h"

namespace airlock::sync {
namespace {

constexpr std::size_t kMaxEntries = 10'000'000;
constexpr int kMaxSymlinkHops = 40;
constexpr std::size_t kMaxTarget = 4096;

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

using LinkMap = std::unordered_map<std::string_view, std::string_view>;

// Resolves `target` from the directory of `link_path` the way the kernel would, expanding the
// index's own symlinks met on the way; fails when the walk climbs above the root.
Status resolve_inside(const LinkMap& links, std::string_view link_path, std::string_view target,
                      std::string_view source) {
  auto escape = [&](std::string_view why) {
    return invalid_argument(fmt::format("{}: symlink '{}' -> '{}' {}", source, link_path, target, why));
  };
  if (target.empty()) return escape("has an empty target");
  if (target.size() > kMaxTarget) return escape("has a target longer than 4096 bytes");
  if (target.find('\0') != std::string_view::npos) return escape("has a NUL byte in its target");
  if (target.front() == '/') return escape("is absolute; only relative targets inside the tree are allowed");
  if (!symlink_target_stays_inside(link_path, target)) return escape("points outside the tree");
  std::vector<std::string> stack;
  auto link_parts = split(link_path, '/');
  for (std::size_t i = 0; i + 1 < link_parts.size(); ++i) stack.emplace_back(link_parts[i]);
  std::deque<std::string> queue;
  for (std::string_view part : split(target, '/')) queue.emplace_back(part);
  int hops = 0;
  while (!queue.empty()) {
    std::string part = std::move(queue.front());
    queue.pop_front();
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (stack.empty()) return escape("leads outside the tree through another symlink");
      stack.pop_back();
      continue;
    }
    stack.push_back(std::move(part));
    const std::string current = join(stack);
    auto it = links.find(current);
    if (it == links.end()) continue;
    if (++hops > kMaxSymlinkHops) return escape("is part of a symlink loop");
    std::string_view next = it->second;
    if (next.empty() || next.front() == '/') return escape("leads through an absolute symlink");
    stack.pop_back();
    std::vector<std::string> expanded;
    for (std::string_view p : split(next, '/')) expanded.emplace_back(p);
    queue.insert(queue.begin(), expanded.begin(), expanded.end());
  }
  if (stack.empty()) return escape("points at the root of the tree");
  return ok_status();
}

}  // namespace

std::uint64_t StoreIndex::file_bytes() const {
  std::uint64_t total = 0;
  for (const auto& e : entries) {
    if (e.type == EntryType::kFile) total += e.size;
  }
  return total;
}

std::size_t StoreIndex::file_count() const {
  return static_cast<std::size_t>(
      std::count_if(entries.begin(), entries.end(), [](const IndexEntry& e) { return e.type == EntryType::kFile; }));
}

std::size_t StoreIndex::symlink_count() const {
  return entries.size() - file_count();
}

Status check_symlink_resolution(const std::vector<IndexEntry>& entries, const IndexEntry& link,
                                std::string_view source) {
  LinkMap links;
  for (const auto& e : entries) {
    if (e.type == EntryType::kSymlink) links.emplace(e.path, e.target);
  }
  return resolve_inside(links, link.path, link.target, source);
}

Status validate_entries(std::vector<IndexEntry>& entries, std::string_view source) {
  if (entries.size() > kMaxEntries) {
    return Error(ErrorCode::kResourceExhausted, fmt::format("{}: more than {} entries", source, kMaxEntries));
  }
  for (const auto& e : entries) {
    AIRLOCK_TRY(validate_relative_path(e.path, fmt::format("{}: entry", source)));
    if (e.path == kIndexKey) {
      return invalid_argument(fmt::format("{}: entry '{}' would overwrite the index itself", source, e.path));
    }
    if (e.type == EntryType::kFile && !e.sha256.empty() && !is_lower_hex(e.sha256, 64)) {
      return parse_error(
          fmt::format("{}: entry '{}' has a sha256 that is not 64 lowercase hex digits", source, e.path));
    }
  }
  std::sort(entries.begin(), entries.end(), [](const IndexEntry& a, const IndexEntry& b) { return a.path < b.path; });
  std::unordered_set<std::string_view> leaves;
  LinkMap links;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i > 0 && entries[i].path == entries[i - 1].path) {
      return invalid_argument(fmt::format("{}: entry '{}' appears twice", source, entries[i].path));
    }
    leaves.insert(entries[i].path);
    if (entries[i].type == EntryType::kSymlink) links.emplace(entries[i].path, entries[i].target);
  }
  for (const auto& e : entries) {
    // Nothing may live below a file or a symlink: writing it would go through the symlink.
    std::size_t slash = 0;
    while ((slash = e.path.find('/', slash)) != std::string::npos) {
      std::string_view ancestor = std::string_view(e.path).substr(0, slash);
      if (leaves.count(ancestor) > 0) {
        return invalid_argument(fmt::format("{}: entry '{}' lies below '{}', which is a {}", source, e.path, ancestor,
                                            links.count(ancestor) ? "symlink" : "file"));
      }
      ++slash;
    }
    if (e.type == EntryType::kSymlink) AIRLOCK_TRY(resolve_inside(links, e.path, e.target, source));
  }
  return ok_status();
}

Result<StoreIndex> parse_index(std::string_view text, std::string_view source) {
  if (text.size() > kMaxIndexBytes) {
    return Error(ErrorCode::kResourceExhausted, fmt::format("{} is larger than 512 MiB", source));
  }
  AIRLOCK_ASSIGN_OR_RETURN(Json doc, parse_json(text, source));
  if (!doc.is_object()) return parse_error(fmt::format("{}: the index must be a JSON object", source));
  auto format = doc.find("format");
  if (format == doc.end() || !format->is_string()) {
    return parse_error(fmt::format("{}: no \"format\" field; not an airlock store index", source));
  }
  const std::string format_text = format->get<std::string>();
  if (format_text != kIndexFormat) {
    if (format_text.starts_with("airlock-store/")) {
      return Error(ErrorCode::kUnsupported,
                   fmt::format("{}: index format '{}' is newer than this airlock understands ({}); upgrade airlock",
                               source, format_text, kIndexFormat));
    }
    return parse_error(fmt::format("{}: unknown index format '{}'", source, format_text));
  }
  auto entries = doc.find("entries");
  if (entries == doc.end() || !entries->is_array()) {
    return parse_error(fmt::format("{}: \"entries\" must be an array", source));
  }
  StoreIndex index;
  index.entries.reserve(std::min<std::size_t>(entries->size(), kMaxEntries));
  std::size_t position = 0;
  for (const Json& item : *entries) {
    const std::string where = fmt::format("{}: entry {}", source, position++);
    if (!item.is_object()) return parse_error(where + " is not an object");
    auto path = item.find("path");
    auto type = item.find("type");
    if (path == item.end() || !path->is_string()) return parse_error(where + " has no \"path\" string");
    if (type == item.end() || !type->is_string()) return parse_error(where + " has no \"type\" string");
    IndexEntry entry;
    entry.path = path->get<std::string>();
    const std::string type_text = type->get<std::string>();
    if (type_text == "file") {
      entry.type = EntryType::kFile;
      auto size = item.find("size");
      auto sha = item.find("sha256");
      if (size == item.end() || !size->is_number_unsigned()) {
        if (size != item.end() && size->is_number_integer() && size->get<std::int64_t>() >= 0) {
          entry.size = static_cast<std::uint64_t>(size->get<std::int64_t>());
        } else {
          return parse_error(fmt::format("{} ('{}') needs a non-negative integer \"size\"", where, entry.path));
        }
      } else {
        entry.size = size->get<std::uint64_t>();
      }
      if (sha == item.end() || !sha->is_string() || !is_lower_hex(sha->get<std::string>(), 64)) {
        return parse_error(fmt::format("{} ('{}') needs a \"sha256\" of 64 lowercase hex digits", where, entry.path));
      }
      entry.sha256 = sha->get<std::string>();
    } else if (type_text == "symlink") {
      entry.type = EntryType::kSymlink;
      auto target = item.find("target");
      if (target == item.end() || !target->is_string()) {
        return parse_error(fmt::format("{} ('{}') needs a \"target\" string", where, entry.path));
      }
      entry.target = target->get<std::string>();
    } else {
      return parse_error(fmt::format("{} ('{}') has unknown type '{}'", where, entry.path, type_text));
    }
    index.entries.push_back(std::move(entry));
    if (index.entries.size() > kMaxEntries) {
      return Error(ErrorCode::kResourceExhausted, fmt::format("{}: more than {} entries", source, kMaxEntries));
    }
  }
  AIRLOCK_TRY(validate_entries(index.entries, source));
  return index;
}

std::string serialize_index(const StoreIndex& index) {
  std::vector<const IndexEntry*> sorted;
  sorted.reserve(index.entries.size());
  for (const auto& e : index.entries) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](const IndexEntry* a, const IndexEntry* b) { return a->path < b->path; });
  // One entry per line: diffs and `grep` stay readable on multi-gigabyte trees.
  std::string out =
      fmt::format("{{\"format\": \"{}\", \"created_by\": \"airlock {}\", \"entries\": [\n", kIndexFormat, kVersion);
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const IndexEntry& e = *sorted[i];
    Json item;
    item["path"] = e.path;
    if (e.type == EntryType::kFile) {
      item["type"] = "file";
      item["size"] = e.size;
      item["sha256"] = e.sha256;
    } else {
      item["type"] = "symlink";
      item["target"] = e.target;
    }
    out += "  " + dump_json(item);
    out += i + 1 < sorted.size() ? ",\n" : "\n";
  }
  out += "]}\n";
  return out;
}

}  // namespace airlock::sync
