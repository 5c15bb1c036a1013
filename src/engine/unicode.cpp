#include "engine/unicode.h"

#include <algorithm>
#include <iterator>

namespace airlock::engine::unicode {
namespace {

struct RangeValue {
  char32_t start;
  std::uint8_t value;
};
struct Mapping {
  char32_t code_point;
  std::uint16_t offset;
  std::uint8_t length;
};
struct Composition {
  char32_t first;
  char32_t second;
  char32_t composite;
};

#include "engine/unicode_data.inc"

template <std::size_t N>
std::uint8_t lookup_range(const RangeValue (&table)[N], char32_t c) {
  // The last range whose start is <= c.
  const RangeValue* it = std::upper_bound(std::begin(table), std::end(table), c,
                                          [](char32_t value, const RangeValue& r) { return value < r.start; });
  return (it - 1)->value;
}

template <std::size_t N, std::size_t P>
bool append_mapping(const Mapping (&table)[N], const char32_t (&pool)[P], char32_t c, std::u32string& out) {
  const Mapping* it = std::lower_bound(std::begin(table), std::end(table), c,
                                       [](const Mapping& m, char32_t value) { return m.code_point < value; });
  if (it == std::end(table) || it->code_point != c) return false;
  out.append(pool + it->offset, it->length);
  return true;
}

constexpr char32_t kHangulBase = 0xAC00, kLeadBase = 0x1100, kVowelBase = 0x1161, kTrailBase = 0x11A7;
constexpr char32_t kVowelCount = 21, kTrailCount = 28, kHangulCount = 11172;

void decompose(char32_t c, bool compatibility, std::u32string& out) {
  if (c >= kHangulBase && c < kHangulBase + kHangulCount) {
    char32_t index = c - kHangulBase;
    out.push_back(kLeadBase + index / (kVowelCount * kTrailCount));
    out.push_back(kVowelBase + (index % (kVowelCount * kTrailCount)) / kTrailCount);
    if (index % kTrailCount != 0) out.push_back(kTrailBase + index % kTrailCount);
    return;
  }
  if (c < 0xA0) {
    out.push_back(c);
    return;
  }
  if (compatibility && append_mapping(kCompatibilityDecomposition, kCompatibilityDecompositionPool, c, out)) return;
  if (append_mapping(kCanonicalDecomposition, kCanonicalDecompositionPool, c, out)) return;
  out.push_back(c);
}

// Canonical ordering: a stable sort of each run of non-starters by combining class.
void reorder(std::u32string& text) {
  std::size_t i = 0;
  while (i < text.size()) {
    if (combining_class(text[i]) == 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && combining_class(text[j]) != 0) ++j;
    std::stable_sort(text.begin() + static_cast<std::ptrdiff_t>(i), text.begin() + static_cast<std::ptrdiff_t>(j),
                     [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
}

char32_t compose_pair(char32_t a, char32_t b) {
  if (a >= kLeadBase && a < kLeadBase + 19 && b >= kVowelBase && b < kVowelBase + kVowelCount) {
    return kHangulBase + ((a - kLeadBase) * kVowelCount + (b - kVowelBase)) * kTrailCount;
  }
  if (a >= kHangulBase && a < kHangulBase + kHangulCount && (a - kHangulBase) % kTrailCount == 0 &&
      b > kTrailBase && b < kTrailBase + kTrailCount) {
    return a + (b - kTrailBase);
  }
  const Composition* it = std::lower_bound(
      std::begin(kCompositions), std::end(kCompositions), std::pair<char32_t, char32_t>(a, b),
      [](const Composition& x, const std::pair<char32_t, char32_t>& key) {
        return x.first != key.first ? x.first < key.first : x.second < key.second;
      });
  if (it != std::end(kCompositions) && it->first == a && it->second == b) return it->composite;
  return 0;
}

void compose(std::u32string& text) {
  if (text.empty()) return;
  std::size_t starter = 0;
  bool have_starter = combining_class(text[0]) == 0;
  std::size_t write = 1;
  int last_class = have_starter ? 0 : 256;
  for (std::size_t read = 1; read < text.size(); ++read) {
    char32_t c = text[read];
    int cc = combining_class(c);
    if (have_starter && (last_class < cc || (last_class == 0 && write == starter + 1))) {
      char32_t composite = compose_pair(text[starter], c);
      if (composite != 0) {
        text[starter] = composite;
        continue;
      }
    }
    if (cc == 0) {
      starter = write;
      have_starter = true;
      last_class = 0;
    } else {
      last_class = cc;
    }
    text[write++] = c;
  }
  text.resize(write);
}

}  // namespace

Category category_v8(char32_t c) {
  if (c > 0x10FFFF) return Category::kCn;
  return static_cast<Category>(lookup_range(kCategoryV8, c));
}

Category category(char32_t c) {
  if (c > 0x10FFFF) return Category::kCn;
  return static_cast<Category>(lookup_range(kCategoryRegex, c));
}

Category category_rust(char32_t c) {
  if (c > 0x10FFFF) return Category::kCn;
  return static_cast<Category>(lookup_range(kCategoryRust, c));
}

bool is_alphabetic(char32_t c) {
  if (c > 0x10FFFF) return false;
  return lookup_range(kAlphabetic, c) != 0;
}

bool is_rust_word(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  if (c == 0x200C || c == 0x200D) return true;
  Category cat = category_rust(c);
  return is_alphabetic(c) || is_mark(cat) || cat == Category::kNd || cat == Category::kPc;
}

bool is_whitespace(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
  switch (c) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

bool is_combining_mark_v9(char32_t c) {
  if (c < 0x300 || c > 0x10FFFF) return false;
  return lookup_range(kMarkV9, c) != 0;
}

namespace {

// Order matches GRAPHEME in gen_unicode_data.py.
enum class Break : std::uint8_t {
  kOther, kCr, kLf, kControl, kExtend, kZwj, kRegionalIndicator, kPrepend, kSpacingMark,
  kL, kV, kT, kLv, kLvt, kExtendedPictographic
};

Break grapheme_break(char32_t c) {
  if (c > 0x10FFFF) return Break::kOther;
  return static_cast<Break>(lookup_range(kGraphemeBreak, c));
}

}  // namespace

void grapheme_lengths(std::u32string_view text, std::vector<std::size_t>& out) {
  out.clear();
  if (text.empty()) return;
  std::size_t start = 0;
  Break previous = grapheme_break(text[0]);
  // GB11 needs "ExtPict Extend* ZWJ" before the current character; GB12/13 the parity of a run of
  // regional indicators.
  bool pictographic_run = previous == Break::kExtendedPictographic;
  bool zwj_after_pictographic = false;
  int regional_count = previous == Break::kRegionalIndicator ? 1 : 0;
  for (std::size_t i = 1; i < text.size(); ++i) {
    Break current = grapheme_break(text[i]);
    bool join;
    if (previous == Break::kCr && current == Break::kLf) {
      join = true;
    } else if (previous == Break::kCr || previous == Break::kLf || previous == Break::kControl ||
               current == Break::kCr || current == Break::kLf || current == Break::kControl) {
      join = false;
    } else if (previous == Break::kL &&
               (current == Break::kL || current == Break::kV || current == Break::kLv || current == Break::kLvt)) {
      join = true;
    } else if ((previous == Break::kLv || previous == Break::kV) && (current == Break::kV || current == Break::kT)) {
      join = true;
    } else if ((previous == Break::kLvt || previous == Break::kT) && current == Break::kT) {
      join = true;
    } else if (current == Break::kExtend || current == Break::kZwj || current == Break::kSpacingMark ||
               previous == Break::kPrepend) {
      join = true;
    } else if (zwj_after_pictographic && current == Break::kExtendedPictographic) {
      join = true;
    } else if (previous == Break::kRegionalIndicator && current == Break::kRegionalIndicator) {
      join = regional_count % 2 == 1;
    } else {
      join = false;
    }
    if (!join) {
      out.push_back(i - start);
      start = i;
    }
    // Track the state for GB11 and GB12/13.
    if (current == Break::kExtendedPictographic) {
      pictographic_run = true;
      zwj_after_pictographic = false;
    } else if (current == Break::kExtend && pictographic_run) {
      zwj_after_pictographic = false;
    } else if (current == Break::kZwj && pictographic_run) {
      zwj_after_pictographic = true;
      pictographic_run = false;
    } else {
      pictographic_run = false;
      zwj_after_pictographic = false;
    }
    regional_count = current == Break::kRegionalIndicator ? regional_count + 1 : 0;
    previous = current;
  }
  out.push_back(text.size() - start);
}

std::uint8_t combining_class(char32_t c) {
  if (c < 0x300 || c > 0x10FFFF) return 0;
  return lookup_range(kCombiningClass, c);
}

void append_lowercase(char32_t c, std::u32string& out) {
  if (c < 0x80) {
    out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return;
  }
  if (!append_mapping(kLowercase, kLowercasePool, c, out)) out.push_back(c);
}

std::u32string normalize(std::u32string_view text, Form form) {
  bool compatibility = form == Form::kNfkd || form == Form::kNfkc;
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text) decompose(c, compatibility, out);
  reorder(out);
  if (form == Form::kNfc || form == Form::kNfkc) compose(out);
  return out;
}

int utf8_sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 1;
}

std::u32string decode_utf8(std::string_view bytes) {
  std::u32string out;
  out.reserve(bytes.size());
  std::size_t i = 0;
  const std::size_t n = bytes.size();
  while (i < n) {
    auto b0 = static_cast<unsigned char>(bytes[i]);
    if (b0 < 0x80) {
      out.push_back(b0);
      ++i;
      continue;
    }
    int length = utf8_sequence_length(b0);
    if (length == 1) {
      out.push_back(kReplacementCharacter);
      ++i;
      continue;
    }
    // The second byte's valid range depends on the lead (no overlongs, surrogates or > U+10FFFF).
    unsigned char low = 0x80, high = 0xBF;
    if (b0 == 0xE0) low = 0xA0;
    if (b0 == 0xED) high = 0x9F;
    if (b0 == 0xF0) low = 0x90;
    if (b0 == 0xF4) high = 0x8F;
    char32_t c = b0 & (0xFF >> (length + 1));
    std::size_t j = i + 1;
    bool ok = true;
    for (int k = 1; k < length; ++k, ++j) {
      if (j >= n) {
        ok = false;
        break;
      }
      auto b = static_cast<unsigned char>(bytes[j]);
      unsigned char lo = k == 1 ? low : 0x80, hi = k == 1 ? high : 0xBF;
      if (b < lo || b > hi) {
        ok = false;
        break;
      }
      c = (c << 6) | (b & 0x3F);
    }
    if (ok) {
      out.push_back(c);
      i = j;
    } else {
      out.push_back(kReplacementCharacter);
      i = j;  // the maximal valid prefix is consumed; the offending byte starts over
    }
  }
  return out;
}

void append_utf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    if (c >= 0xD800 && c < 0xE000) c = kReplacementCharacter;
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c <= 0x10FFFF) {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    append_utf8(kReplacementCharacter, out);
  }
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) append_utf8(c, out);
  return out;
}

}  // namespace airlock::engine::unicode
