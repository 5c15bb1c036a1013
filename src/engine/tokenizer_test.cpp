// Tokenizers on small hand-written tokenizer.json files whose output can be worked out by hand
// (the parity suite in tests/engine compares against Hugging Face on real-sized files), and
// clear errors for malformed files.
#include "engine/tokenizer.h"

#include <gtest/gtest.h>

#include "core/file_io.h"
#include "testing.h"

namespace airlock::engine {
namespace {

constexpr const char* kBert = R"({
  "version": "1.0", "truncation": null, "padding": null,
  "added_tokens": [
    {"id": 0, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 1, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 2, "content": "[CLS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 3, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 4, "content": "[MASK]", "single_word": false, "lstrip": true, "rstrip": false, "normalized": false, "special": true}],
  "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": {"type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
    "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
             {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
    "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
  "decoder": null,
  "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
    "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "hello": 5, "world": 6, "##s": 7, "un": 8,
              "##aff": 9, "##able": 10, ",": 11, "!": 12, "cafe": 13, "東": 14, "京": 15}}
})";

Tokenizer load(std::string_view json) {
  auto t = Tokenizer::from_json(json, "tokenizer.json");
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message());
  return std::move(t).value();
}

std::vector<std::int32_t> ids(const Tokenizer& t, std::string_view text, const std::string_view* pair = nullptr) {
  auto e = t.encode(text, pair);
  EXPECT_TRUE(e.ok()) << (e.ok() ? "" : e.error().message());
  return e.ok() ? e->ids : std::vector<std::int32_t>{};
}

TEST(WordPieceTokenizer, NormalizesSplitsAndMatchesLongestFirst) {
  Tokenizer t = load(kBert);
  EXPECT_EQ(ids(t, "Hello, worlds! unaffable"), (std::vector<std::int32_t>{2, 5, 11, 6, 7, 12, 8, 9, 10, 3}));
  EXPECT_EQ(ids(t, "CAFÉ\u200b東京"), (std::vector<std::int32_t>{2, 13, 14, 15, 3}));  // accents, zero-width, CJK
  EXPECT_EQ(ids(t, "helloz"), (std::vector<std::int32_t>{2, 1, 3}));                     // unmatched tail: one [UNK]
  EXPECT_EQ(ids(t, ""), (std::vector<std::int32_t>{2, 3}));
  EXPECT_EQ(ids(t, "hello [MASK]world"), (std::vector<std::int32_t>{2, 5, 4, 6, 3}));  // added token, lstrip
  EXPECT_EQ(ids(t, "hello [mask]"), (std::vector<std::int32_t>{2, 5, 1, 1, 1, 3}));     // not normalized: no match
  EXPECT_EQ(ids(t, std::string(101, 'a')), (std::vector<std::int32_t>{2, 1, 3}));      // over max_input_chars_per_word
  EXPECT_EQ(ids(t, "hello\xff world"), (std::vector<std::int32_t>{2, 5, 6, 3}));       // invalid UTF-8: U+FFFD, cleaned
}

TEST(WordPieceTokenizer, PairsAndTruncation) {
  Tokenizer t = load(kBert);
  std::string_view b = "world world world";
  auto e = t.encode("hello hello", &b);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->ids, (std::vector<std::int32_t>{2, 5, 5, 3, 6, 6, 6, 3}));
  EXPECT_EQ(e->type_ids, (std::vector<std::int32_t>{0, 0, 0, 0, 1, 1, 1, 1}));
  TruncationParams params;
  params.max_length = 6;  // 3 of text after the 3 specials: the longer side loses first
  auto cut = t.encode("hello hello", &b, true, params);
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(cut->ids, (std::vector<std::int32_t>{2, 5, 3, 6, 6, 3}));
  params.max_length = 4;
  params.direction = Side::kLeft;
  std::string_view long_text = "hello world ,";
  auto left = t.encode(long_text, nullptr, true, params);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->ids, (std::vector<std::int32_t>{2, 6, 11, 3}));
  params.max_length = 1;
  EXPECT_FALSE(t.encode("hello", nullptr, true, params).ok());  // no room for the specials
  PaddingParams padding;
  padding.fixed_length = 5;
  t.set_padding(padding);
  auto padded = t.encode("hello");
  ASSERT_TRUE(padded.ok());
  EXPECT_EQ(padded->ids, (std::vector<std::int32_t>{2, 5, 3, 0, 0}));
  EXPECT_EQ(padded->attention_mask, (std::vector<std::uint8_t>{1, 1, 1, 0, 0}));
}

TEST(BpeTokenizer, AppliesTheLowestRankedMergeFirst) {
  Tokenizer t = load(R"({"added_tokens": [], "normalizer": null, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false},
    "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 1], "cls": ["<s>", 0]},
    "model": {"type": "BPE", "vocab": {"<s>": 0, "</s>": 1, "a": 2, "b": 3, "c": 4, "ab": 5, "bc": 6, "abc": 7, "Ġ": 8, "Ġa": 9},
              "merges": ["b c", "a b", "a bc", "Ġ a"]}})");
  EXPECT_EQ(ids(t, "abc"), (std::vector<std::int32_t>{0, 7, 1}));     // b c first, then a bc
  EXPECT_EQ(ids(t, "ab a"), (std::vector<std::int32_t>{0, 5, 9, 1}));  // "ab", " a" -> "Ġa"
  std::string_view pair = "c";
  auto e = t.encode("a", &pair);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->ids, (std::vector<std::int32_t>{0, 2, 1, 1, 4, 1}));
  EXPECT_EQ(e->type_ids, (std::vector<std::int32_t>{0, 0, 0, 0, 0, 0}));  // RoBERTa: one token type
}

TEST(UnigramTokenizer, FindsTheMostLikelySegmentation) {
  Tokenizer t = load(R"({"added_tokens": [], "normalizer": null,
    "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "add_prefix_space": true},
    "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["▁", -2.0], ["▁ab", -3.0], ["▁a", -1.0], ["b", -1.5], ["c", -4.0], ["bc", -4.5]]}})");
  // "▁abc": ▁ab+c = -7, ▁a+bc = -5.5, ▁a+b+c = -6.5 → ▁a bc.
  EXPECT_EQ(ids(t, "abc"), (std::vector<std::int32_t>{3, 6}));
  // Unknown characters fuse into one <unk>.
  EXPECT_EQ(ids(t, "xyz"), (std::vector<std::int32_t>{1, 0}));
}

TEST(Tokenizer, MalformedFilesGiveClearErrors) {
  struct Case {
    const char* json;
    const char* fragment;
  };
  const Case cases[] = {
      {"{", "tokenizer.json:1:2: invalid JSON"},
      {"[]", "expected a JSON object"},
      {R"({"model": null})", "no \"model\""},
      {R"({"model": {"type": "Magic"}})", "model type \"Magic\" is not supported"},
      {R"({"model": {"type": "WordPiece", "vocab": {"a": 0}, "unk_token": "[UNK]"}})", "unknown token \"[UNK]\" is not in the vocabulary"},
      {R"({"model": {"type": "WordPiece", "vocab": [1, 2]}})", "must be an object"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})", "not in the vocabulary"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a a a"]}})", "not two tokens"},
      {R"({"model": {"type": "Unigram", "vocab": [["a"]]}})", "[piece, score]"},
      {R"({"model": {"type": "Unigram", "vocab": [["a", 0.0]], "unk_id": 5}})", "outside the vocabulary"},
      {R"({"normalizer": {"type": "Precompiled", "precompiled_charsmap": "!!!"}, "model": {"type": "Unigram", "vocab": [["a", 0.0]]}})", "base64"},
      {R"({"normalizer": {"type": "Replace", "pattern": {"Regex": "("}, "content": ""}, "model": {"type": "Unigram", "vocab": [["a", 0.0]]}})", "regex"},
      {R"({"pre_tokenizer": {"type": "Split", "pattern": {"String": "x"}, "behavior": "Sideways"}, "model": {"type": "Unigram", "vocab": [["a", 0.0]]}})", "split behavior"},
      {R"({"post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "X"}}], "pair": [], "special_tokens": {}}, "model": {"type": "Unigram", "vocab": [["a", 0.0]]}})", "not in special_tokens"},
      {R"({"added_tokens": [{"content": 5}], "model": {"type": "Unigram", "vocab": [["a", 0.0]]}})", "unexpected structure"},
  };
  for (const Case& c : cases) {
    auto t = Tokenizer::from_json(c.json, "tokenizer.json");
    ASSERT_FALSE(t.ok()) << c.json;
    EXPECT_NE(t.error().message().find(c.fragment), std::string::npos) << c.json << "\n -> " << t.error().message();
  }
}

TEST(Tokenizer, VocabTxtRepositories) {
  testing::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n").ok());
  ASSERT_TRUE(write_file_atomic(dir / "tokenizer_config.json", R"({"do_lower_case": true})").ok());
  auto t = Tokenizer::load(dir.path());
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(ids(*t, "Hello [MASK] WORLD"), (std::vector<std::int32_t>{2, 5, 4, 6, 3}));
  testing::TempDir empty;
  auto none = Tokenizer::load(empty.path());
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("neither tokenizer.json nor vocab.txt"), std::string::npos);
}

}  // namespace
}  // namespace airlock::engine
