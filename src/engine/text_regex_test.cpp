// The regex subset of tokenizer.json patterns.
#include "engine/text_regex.h"

#include <gtest/gtest.h>

#include "engine/unicode.h"

namespace airlock::engine {
namespace {

std::vector<std::string> matches(std::string_view pattern, std::string_view text) {
  auto p = TextPattern::regex(pattern);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message());
  if (!p.ok()) return {};
  std::u32string t = unicode::decode_utf8(text);
  std::vector<std::pair<std::size_t, std::size_t>> found;
  p->find_all(t, found);
  std::vector<std::string> out;
  for (auto [b, e] : found) out.push_back(unicode::encode_utf8(t.substr(b, e - b)));
  return out;
}

TEST(TextRegex, TheTokenizerPatterns) {
  EXPECT_EQ(matches(" {2,}", "a  b   c d"), (std::vector<std::string>{"  ", "   "}));
  EXPECT_EQ(matches("\\w+|[^\\w\\s]+", "Hello, wörld!!"), (std::vector<std::string>{"Hello", ",", "wörld", "!!"}));
  // GPT-2's pattern, including the lookahead that leaves a space for the next word.
  EXPECT_EQ(matches("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
                    "it's  42 cats!\n"),
            (std::vector<std::string>{"it", "'s", " ", " 42", " cats", "!", "\n"}));
  // Llama-3 style: case-insensitive contractions and digit runs of at most three.
  EXPECT_EQ(matches("(?i:'s|'t)|\\p{N}{1,3}", "IT'S 12345"), (std::vector<std::string>{"'S", "123", "45"}));
  EXPECT_EQ(matches("[a-c]+?", "abc"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(matches("^a|b$", "ab"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(matches("\\x41\\u{1F600}", "A😀"), (std::vector<std::string>{"A😀"}));
}

TEST(TextRegex, RejectsWhatItCannotRun) {
  for (const char* bad : {"(", "a)", "[a-", "*a", "a{3,2}", "\\q", "(?<name>a)", "a++", "\\p{Nope}"}) {
    auto p = TextPattern::regex(bad);
    EXPECT_FALSE(p.ok()) << bad;
  }
}

TEST(TextRegex, LongRunsDoNotRecurse) {
  std::string spaces(200000, ' ');
  auto found = matches("\\s+", spaces);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].size(), spaces.size());
}

}  // namespace
}  // namespace airlock::engine
