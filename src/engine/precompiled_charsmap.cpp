#include "engine/precompiled_charsmap.h"

#include <fmt/format.h>

#include <cstring>

#include "engine/unicode.h"

namespace airlock::engine {
namespace {

// darts-clone unit layout.
bool has_leaf(std::uint32_t unit) { return ((unit >> 8) & 1) != 0; }
std::uint32_t unit_value(std::uint32_t unit) { return unit & ((1u << 31) - 1); }
std::uint32_t unit_label(std::uint32_t unit) { return unit & ((1u << 31) | 0xFF); }
std::uint32_t unit_offset(std::uint32_t unit) { return (unit >> 10) << ((unit & (1u << 9)) >> 6); }

}  // namespace

Result<PrecompiledCharsmap> PrecompiledCharsmap::parse(std::string_view blob) {
  if (blob.size() < 4) return parse_error("precompiled_charsmap: shorter than its 4-byte header");
  std::uint32_t trie_size = 0;
  for (int i = 3; i >= 0; --i) trie_size = (trie_size << 8) | static_cast<unsigned char>(blob[static_cast<std::size_t>(i)]);
  if (trie_size % 4 != 0 || trie_size > blob.size() - 4) {
    return parse_error(fmt::format("precompiled_charsmap: trie size {} does not fit the {} bytes given", trie_size,
                                   blob.size()));
  }
  PrecompiledCharsmap map;
  map.units_.resize(trie_size / 4);
  for (std::size_t i = 0; i < map.units_.size(); ++i) {
    std::uint32_t v = 0;
    for (int b = 3; b >= 0; --b) v = (v << 8) | static_cast<unsigned char>(blob[4 + i * 4 + static_cast<std::size_t>(b)]);
    map.units_[i] = v;
  }
  map.pool_.assign(blob.substr(4 + trie_size));
  return map;
}

const char* PrecompiledCharsmap::transform(std::string_view chunk, std::size_t* length) const {
  if (units_.empty()) return nullptr;
  std::size_t node = unit_offset(units_[0]);
  for (char ch : chunk) {
    auto c = static_cast<unsigned char>(ch);
    if (c == 0) break;
    node ^= c;
    if (node >= units_.size()) return nullptr;
    std::uint32_t unit = units_[node];
    if (unit_label(unit) != c) return nullptr;
    node ^= unit_offset(unit);
    if (node >= units_.size()) return nullptr;
    if (has_leaf(unit)) {
      std::size_t index = unit_value(units_[node]);
      if (index >= pool_.size()) return nullptr;
      const char* start = pool_.data() + index;
      const void* end = std::memchr(start, 0, pool_.size() - index);
      *length = end == nullptr ? pool_.size() - index : static_cast<std::size_t>(static_cast<const char*>(end) - start);
      return start;
    }
  }
  return nullptr;
}

std::u32string PrecompiledCharsmap::apply(std::u32string_view text) const {
  std::u32string out;
  out.reserve(text.size());
  std::vector<std::size_t> lengths;
  unicode::grapheme_lengths(text, lengths);
  std::string utf8;
  std::size_t position = 0;
  for (std::size_t length : lengths) {
    std::u32string_view grapheme = text.substr(position, length);
    position += length;
    utf8.clear();
    for (char32_t c : grapheme) unicode::append_utf8(c, utf8);
    std::size_t replacement_length = 0;
    // Short graphemes are looked up whole (so that a base letter and its combining marks can map
    // together); then, or otherwise, character by character.
    if (utf8.size() < 6) {
      if (const char* replacement = transform(utf8, &replacement_length)) {
        out += unicode::decode_utf8(std::string_view(replacement, replacement_length));
        continue;
      }
    }
    for (char32_t c : grapheme) {
      utf8.clear();
      unicode::append_utf8(c, utf8);
      if (const char* replacement = transform(utf8, &replacement_length)) {
        out += unicode::decode_utf8(std::string_view(replacement, replacement_length));
      } else {
        out.push_back(c);
      }
    }
  }
  return out;
}

}  // namespace airlock::engine
