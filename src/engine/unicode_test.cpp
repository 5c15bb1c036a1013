// UTF-8 decoding with replacement, normalization forms, categories at their versions, and
// grapheme clusters (checked against Unicode's own GraphemeBreakTest.txt when Debian's
// unicode-data package is installed).
#include "engine/unicode.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace airlock::engine::unicode {
namespace {

TEST(Utf8, DecodesAndReplacesMaximalSubparts) {
  EXPECT_EQ(decode_utf8("a\xC3\xA9\xE6\x9D\xB1\xF0\x9F\x98\x80"), U"aé東😀");
  // Each maximal ill-formed subpart becomes one U+FFFD (the WHATWG/Unicode practice).
  EXPECT_EQ(decode_utf8("\x80"), U"\uFFFD");
  EXPECT_EQ(decode_utf8("\xC0\xAF"), U"\uFFFD\uFFFD");          // overlong lead, then a stray continuation
  EXPECT_EQ(decode_utf8("\xE0\x80\xAF"), U"\uFFFD\uFFFD\uFFFD");  // E0 needs A0..BF next
  EXPECT_EQ(decode_utf8("\xED\xA0\x80"), U"\uFFFD\uFFFD\uFFFD");  // a surrogate
  EXPECT_EQ(decode_utf8("\xF4\x90\x80\x80"), U"\uFFFD\uFFFD\uFFFD\uFFFD");  // above U+10FFFF
  EXPECT_EQ(decode_utf8("\xE2\x82"), U"\uFFFD");                 // truncated: one replacement
  EXPECT_EQ(decode_utf8("\xE2\x82x"), U"\uFFFDx");
  EXPECT_EQ(decode_utf8("\xF0\x9F\x98"), U"\uFFFD");
  EXPECT_EQ(decode_utf8("\xFF\xFE"), U"\uFFFD\uFFFD");
  EXPECT_EQ(decode_utf8(std::string_view("a\0b", 3)), std::u32string(U"a\0b", 3));
  EXPECT_EQ(encode_utf8(U"aé東😀"), "a\xC3\xA9\xE6\x9D\xB1\xF0\x9F\x98\x80");
}

TEST(Normalization, TheFourForms) {
  EXPECT_EQ(normalize(U"é", Form::kNfd), U"e\u0301");
  EXPECT_EQ(normalize(U"e\u0301", Form::kNfc), U"é");
  EXPECT_EQ(normalize(U"ﬁ", Form::kNfkc), U"fi");
  EXPECT_EQ(normalize(U"ﬁ", Form::kNfc), U"ﬁ");
  EXPECT_EQ(normalize(U"①", Form::kNfkd), U"1");
  EXPECT_EQ(normalize(U"한", Form::kNfd), U"\u1112\u1161\u11AB");
  EXPECT_EQ(normalize(U"\u1112\u1161\u11AB", Form::kNfc), U"한");
  // Canonical ordering: ccc 220 (below) before ccc 230 (above), whatever the input order.
  EXPECT_EQ(normalize(U"a\u0301\u0323", Form::kNfd), U"a\u0323\u0301");
  EXPECT_EQ(normalize(U"a\u0301\u0323", Form::kNfc), U"ạ\u0301");
  EXPECT_EQ(normalize(U"ｶﾞ", Form::kNfkc), U"ガ");
  // Composition exclusions stay decomposed.
  EXPECT_EQ(normalize(U"\u0958", Form::kNfc), U"\u0915\u093C");
}

TEST(Categories, AtTheirVersions) {
  EXPECT_EQ(category_v8(U'a'), Category::kLl);
  EXPECT_EQ(category_v8(U','), Category::kPo);
  EXPECT_EQ(category_v8(0x0301), Category::kMn);
  EXPECT_EQ(category_v8(0x200B), Category::kCf);
  EXPECT_EQ(category_v8(0xE000), Category::kCo);
  // 🥰 arrived in Unicode 11: unassigned for the BERT normalizer, a symbol for regexes.
  EXPECT_EQ(category_v8(0x1F970), Category::kCn);
  EXPECT_EQ(category(0x1F970), Category::kSo);
  // U+166D was punctuation in 8.0 and is a symbol today.
  EXPECT_EQ(category_v8(0x166D), Category::kPo);
  EXPECT_EQ(category(0x166D), Category::kSo);
  EXPECT_TRUE(is_whitespace(0x3000));
  EXPECT_TRUE(is_whitespace(0x85));
  EXPECT_FALSE(is_whitespace(0x200B));
  std::u32string lower;
  append_lowercase(U'İ', lower);
  EXPECT_EQ(lower, U"i\u0307");
  lower.clear();
  append_lowercase(U'Σ', lower);
  EXPECT_EQ(lower, U"σ");
}

TEST(Graphemes, UnicodeBreakTest) {
  std::ifstream in("/usr/share/unicode/auxiliary/GraphemeBreakTest.txt");
  if (!in) GTEST_SKIP() << "GraphemeBreakTest.txt not found (Debian package unicode-data)";
  int checked = 0;
  for (std::string line; std::getline(in, line);) {
    line = line.substr(0, line.find('#'));
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::istringstream fields(line);
    std::u32string text;
    std::vector<std::size_t> expected;
    std::size_t run = 0;
    for (std::string token; fields >> token;) {
      if (token == "÷" || token == "\xC3\xB7") {
        if (run > 0) expected.push_back(run);
        run = 0;
      } else if (token == "×" || token == "\xC3\x97") {
      } else {
        text.push_back(static_cast<char32_t>(std::stoul(token, nullptr, 16)));
        ++run;
      }
    }
    std::vector<std::size_t> got;
    grapheme_lengths(text, got);
    EXPECT_EQ(got, expected) << line;
    ++checked;
  }
  EXPECT_GT(checked, 500);
}

}  // namespace
}  // namespace airlock::engine::unicode
