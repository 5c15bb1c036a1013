// airlock's tokenizers against Hugging Face `tokenizers` (the npm binding of the Rust library)
// on 10,000 generated strings (2,000 for the option variants) and 2,000 pairs, for WordPiece, byte-level BPE and Unigram
// tokenizer.json files (trained by that library, plus one from SentencePiece with a real
// Precompiled charsmap) and a vocab.txt-only repository: ids, type ids and attention masks must
// be identical, with truncation and padding variants.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstdlib>

#include "core/file_io.h"
#include "core/json.h"
#include "engine/json_value.h"
#include "engine/tokenizer.h"
#include "engine_testdata.h"

namespace airlock {
namespace {

using engine::Encoding;
using engine::Tokenizer;

std::string printable(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

std::string join(const std::vector<std::int32_t>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + std::to_string(v[i]);
  return out;
}

std::vector<std::int32_t> numbers(const std::string& text) {
  std::vector<std::int32_t> out;
  const char* p = text.c_str();
  char* end = nullptr;
  for (long v = std::strtol(p, &end, 10); end != p; v = std::strtol(p, &end, 10)) {
    out.push_back(static_cast<std::int32_t>(v));
    p = end;
  }
  return out;
}

class TokenizerParity : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerParity, MatchesHuggingFaceTokenizers) {
  std::string why;
  const testing::EngineTestdata* data = testing::engine_testdata(&why);
  if (data == nullptr) GTEST_SKIP() << "engine test data unavailable: " << why;
  const Json* found = nullptr;
  for (const Json& c : data->manifest.at("tokenizer_cases")) {
    if (c.at("name").get<std::string>() == GetParam()) found = &c;
  }
  ASSERT_NE(found, nullptr) << "no case " << GetParam();
  const Json& c = *found;
  auto tokenizer = Tokenizer::load(c.at("tokenizer_dir").get<std::string>());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.error().message();
  std::optional<engine::TruncationParams> truncation;
  if (!c.at("truncation").is_null()) {
    engine::TruncationParams t;
    t.max_length = c.at("truncation").at("max_length").get<std::size_t>();
    std::string strategy = c.at("truncation").at("strategy").get<std::string>();
    t.strategy = strategy == "OnlySecond"  ? engine::TruncationStrategy::kOnlySecond
                 : strategy == "OnlyFirst" ? engine::TruncationStrategy::kOnlyFirst
                                           : engine::TruncationStrategy::kLongestFirst;
    t.direction = c.at("truncation").at("direction").get<std::string>() == "Left" ? engine::Side::kLeft : engine::Side::kRight;
    tokenizer->set_truncation(t);
  }
  if (!c.at("padding").is_null()) {
    const Json& p = c.at("padding");
    engine::PaddingParams params;
    params.fixed_length = p.at("max_length").get<std::size_t>();
    params.direction = p.at("direction").get<std::string>() == "Left" ? engine::Side::kLeft : engine::Side::kRight;
    params.pad_id = p.at("pad_id").get<std::int32_t>();
    params.pad_type_id = p.at("pad_type_id").get<std::int32_t>();
    params.pad_token = p.at("pad_token").get<std::string>();
    tokenizer->set_padding(params);
  }
  bool special = c.at("add_special_tokens").get<bool>();
  auto load = [](const std::filesystem::path& path) -> Result<engine::JsonValue> {
    AIRLOCK_ASSIGN_OR_RETURN(std::string text, read_file(path));
    return engine::parse_json_value(text, path.string());
  };
  auto inputs = load(data->root / (c.at("inputs").get<std::string>() + ".json"));
  ASSERT_TRUE(inputs.ok()) << inputs.error().message();
  auto expected = load(c.at("expected").get<std::string>());
  ASSERT_TRUE(expected.ok()) << expected.error().message();
  const engine::JsonValue& results = expected->at("results");
  ASSERT_EQ(results.size(), inputs->size());

  int failures = 0;
  std::size_t compared = 0;
  for (std::size_t i = 0; i < inputs->size(); ++i) {
    const engine::JsonValue& input = (*inputs)[i];
    std::string a, b;
    bool pair = input.is_array();
    if (pair) {
      a = testing::hex_decode(input[0].get<std::string>());
      b = testing::hex_decode(input[1].get<std::string>());
    } else {
      a = testing::hex_decode(input.get<std::string>());
    }
    std::string_view bv(b);
    auto got = tokenizer->encode(a, pair ? &bv : nullptr, special);
    const engine::JsonValue& want = results[i];
    std::string what = pair ? fmt::format("[{}] + [{}]", printable(a), printable(b)) : fmt::format("[{}]", printable(a));
    if (want.is_object()) {
      EXPECT_FALSE(got.ok()) << "input " << i << " " << what << ": the reference failed (" << want.at("error")
                             << ") but airlock encoded it";
      continue;
    }
    if (!got.ok()) {
      ADD_FAILURE() << "input " << i << " " << what << ": " << got.error().message();
      if (++failures > 10) break;
      continue;
    }
    auto ids = numbers(want[0].get<std::string>());
    auto type_ids = numbers(want[1].get<std::string>());
    auto mask = numbers(want[2].get<std::string>());
    std::vector<std::int32_t> got_mask(got->attention_mask.begin(), got->attention_mask.end());
    if (got->ids != ids || got->type_ids != type_ids || got_mask != mask) {
      ADD_FAILURE() << "input " << i << " " << what << "\n  expected ids " << join(ids) << "\n  airlock  ids "
                    << join(got->ids) << "\n  expected types " << join(type_ids) << "\n  airlock  types "
                    << join(got->type_ids) << "\n  expected mask " << join(mask) << "\n  airlock  mask "
                    << join(got_mask);
      if (++failures > 10) break;
    }
    ++compared;
  }
  EXPECT_EQ(failures, 0);
  RecordProperty("compared", static_cast<int>(compared));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TokenizerParity,
    ::testing::Values("bert_uncased/single", "bert_uncased/pairs_longest_first", "bert_cased/single",
                      "bert_cased/pairs_longest_first", "roberta_bpe/single", "roberta_bpe/pairs_longest_first",
                      "xlmr_unigram/single", "xlmr_unigram/pairs_longest_first", "xlmr_legacy/single",
                      "xlmr_legacy/pairs_longest_first", "unigram_nfkc/single", "unigram_nfkc/pairs_longest_first",
                      "bert_uncased/no_special", "bert_uncased/truncate_left", "bert_uncased/pairs_only_second",
                      "bert_uncased/pairs_odd_length", "bert_cased/pad_fixed", "xlmr_unigram/pairs_left",
                      "xlmr_unigram/pad_left", "roberta_bpe/pairs_no_special", "bert_vocab_only/single"),
    [](const ::testing::TestParamInfo<std::string>& param) {
      std::string name = param.param;
      for (char& ch : name) {
        if (ch == '/') ch = '_';
      }
      return name;
    });

}  // namespace
}  // namespace airlock
