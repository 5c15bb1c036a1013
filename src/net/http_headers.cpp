#include "net/http_headers.h"

#include <algorithm>

namespace airlock::net {
namespace {

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

bool header_name_equals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

void HttpHeaders::add(std::string name, std::string value) {
  entries_.emplace_back(std::move(name), std::move(value));
}

void HttpHeaders::set(std::string_view name, std::string value) {
  remove(name);
  entries_.emplace_back(std::string(name), std::move(value));
}

std::size_t HttpHeaders::remove(std::string_view name) {
  auto tail = std::remove_if(entries_.begin(), entries_.end(),
                             [&](const Entry& entry) { return header_name_equals(entry.first, name); });
  auto removed = static_cast<std::size_t>(entries_.end() - tail);
  entries_.erase(tail, entries_.end());
  return removed;
}

std::optional<std::string> HttpHeaders::get(std::string_view name) const {
  for (const auto& [key, value] : entries_) {
    if (header_name_equals(key, name)) return value;
  }
  return std::nullopt;
}

std::vector<std::string> HttpHeaders::get_all(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : entries_) {
    if (header_name_equals(key, name)) values.push_back(value);
  }
  return values;
}

bool HttpHeaders::contains(std::string_view name) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const Entry& entry) { return header_name_equals(entry.first, name); });
}

}  // namespace airlock::net
