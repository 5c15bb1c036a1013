// The Unicode facts the tokenizers need (categories, normalization forms, lower-casing, UTF-8),
// at the Unicode versions Hugging Face `tokenizers` uses for each (see gen_unicode_data.py).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::engine::unicode {

// Order matches CATEGORIES in gen_unicode_data.py.
enum class Category : std::uint8_t {
  kCn, kLu, kLl, kLt, kLm, kLo, kMn, kMc, kMe, kNd, kNl, kNo, kPc, kPd, kPs, kPe,
  kPi, kPf, kPo, kSm, kSc, kSk, kSo, kZs, kZl, kZp, kCc, kCf, kCs, kCo
};

// General_Category as of Unicode 8.0 (what the BERT normalizer and pre-tokenizer see).
Category category_v8(char32_t c);
// General_Category as of Unicode 14.0 (what Oniguruma, and so the library's split patterns and
// the byte-level pre-tokenizer, see as \p{L}, \p{N}, \w).
Category category(char32_t c);
// General_Category as of the current UCD (Rust's char methods and the `regex` crate).
Category category_rust(char32_t c);
// The Alphabetic property, current UCD (part of the `regex` crate's \w).
bool is_alphabetic(char32_t c);
// The `regex` crate's \w: Alphabetic, marks, decimal digits, connector punctuation, joiners.
bool is_rust_word(char32_t c);

inline bool is_letter(Category c) { return c >= Category::kLu && c <= Category::kLo; }
inline bool is_mark(Category c) { return c >= Category::kMn && c <= Category::kMe; }
inline bool is_number(Category c) { return c >= Category::kNd && c <= Category::kNo; }
inline bool is_punctuation(Category c) { return c >= Category::kPc && c <= Category::kPo; }
inline bool is_symbol(Category c) { return c >= Category::kSm && c <= Category::kSo; }
inline bool is_separator(Category c) { return c >= Category::kZs && c <= Category::kZp; }

// General_Category=Mark as of Unicode 9.0 (the StripAccents normalizer).
bool is_combining_mark_v9(char32_t c);

// Lengths (in code points) of the extended grapheme clusters of `text` (UAX #29, Unicode 15.0).
void grapheme_lengths(std::u32string_view text, std::vector<std::size_t>& out);

// The White_Space property (Rust's char::is_whitespace; also regex \s).
bool is_whitespace(char32_t c);
std::uint8_t combining_class(char32_t c);

// Full lower-case mapping without context (Rust's char::to_lowercase).
void append_lowercase(char32_t c, std::u32string& out);

enum class Form { kNfd, kNfkd, kNfc, kNfkc };
std::u32string normalize(std::u32string_view text, Form form);

// UTF-8 with every ill-formed subsequence replaced by U+FFFD, one per maximal subpart (the
// WHATWG/Unicode practice that Node's TextDecoder and Python's errors="replace" follow).
std::u32string decode_utf8(std::string_view bytes);
void append_utf8(char32_t c, std::string& out);
std::string encode_utf8(std::u32string_view text);
// Length in bytes of the UTF-8 sequence led by `lead` (1 for a stray continuation byte).
int utf8_sequence_length(unsigned char lead);

inline constexpr char32_t kReplacementCharacter = 0xFFFD;

}  // namespace airlock::engine::unicode
