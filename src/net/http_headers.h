// HttpHeaders: an ordered list of header fields with case-insensitive lookup. Order and repeats
// are kept because some headers legitimately appear more than once (Set-Cookie, x-amz-meta-*)
// and signers need to see exactly what will be sent.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace airlock::net {

// ASCII case-insensitive comparison, as HTTP field names require.
bool header_name_equals(std::string_view a, std::string_view b);

class HttpHeaders {
 public:
  using Entry = std::pair<std::string, std::string>;

  HttpHeaders() = default;
  HttpHeaders(std::initializer_list<Entry> entries) : entries_(entries) {}
  explicit HttpHeaders(std::vector<Entry> entries) : entries_(std::move(entries)) {}

  // Appends a field, keeping any existing ones of the same name.
  void add(std::string name, std::string value);
  // Replaces every field named `name` with one field (added at the end when absent).
  void set(std::string_view name, std::string value);
  // Removes every field named `name`; returns how many were removed.
  std::size_t remove(std::string_view name);

  // The first value of `name`. A copy, so that it outlives the response it came from.
  std::optional<std::string> get(std::string_view name) const;
  // Every value of `name`, in order.
  std::vector<std::string> get_all(std::string_view name) const;
  bool contains(std::string_view name) const;

  const std::vector<Entry>& entries() const { return entries_; }
  std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  std::vector<Entry>::const_iterator end() const { return entries_.end(); }
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  void clear() { entries_.clear(); }

 private:
  std::vector<Entry> entries_;
};

}  // namespace airlock::net
