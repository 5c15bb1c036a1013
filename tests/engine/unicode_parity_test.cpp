// Every Unicode code point through airlock's normalizers and pre-tokenizers, against Hugging Face
// `tokenizers` (unicode_probe.js): the Unicode tables (categories at Unicode 8.0 for BERT,
// normalization at 11.0, current case mapping and White_Space, the SentencePiece charsmap) must
// give the library's exact results for every code point of the planes in use (the
// others sampled).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <string>
#include <vector>

#include "core/file_io.h"
#include "engine/json_value.h"
#include "engine/normalizer.h"
#include "engine/pre_tokenizer.h"
#include "engine/unicode.h"
#include "engine_testdata.h"

namespace airlock {
namespace {

class UnicodeParity : public ::testing::TestWithParam<std::string> {};

// Every code point of the planes with varied properties (0-3, 14); the ten unassigned planes
// between and the two private-use planes (15-16: all Co but their last two, noncharacters) are
// sampled, which keeps the test quick under sanitizers.
bool tested(char32_t cp) {
  if (cp >= 0xD800 && cp < 0xE000) return false;
  if (cp >= 0x40000 && cp < 0xE0000) return cp % 251 == 0;
  if (cp >= 0xF0000) return cp % 251 == 0 || (cp & 0xFFFF) >= 0xFFFE || (cp & 0xFFFF) == 0;
  return true;
}

TEST_P(UnicodeParity, EveryCodePointMatches) {
  std::string why;
  const testing::EngineTestdata* data = testing::engine_testdata(&why);
  if (data == nullptr) GTEST_SKIP() << "engine test data unavailable: " << why;
  const Json* probe = nullptr;
  for (const Json& p : data->manifest.at("unicode_probes")) {
    if (p.at("name").get<std::string>() == GetParam()) probe = &p;
  }
  ASSERT_NE(probe, nullptr);
  auto file = read_file(data->root / ("probe_" + GetParam() + ".json"));
  ASSERT_TRUE(file.ok()) << file.error().message();
  auto parsed = engine::parse_json_value(*file, "probe");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  const engine::JsonValue& expected = *parsed;
  auto config = engine::parse_json_value(dump_json(probe->at("config")), "probe");
  ASSERT_TRUE(config.ok());
  int failures = 0;
  if (probe->at("kind") == "normalizer") {
    auto normalizer = engine::make_normalizer(*config);
    ASSERT_TRUE(normalizer.ok()) << normalizer.error().message();
    // The code points the library changes, by code point (one pass, not a lookup per code point).
    std::vector<const std::string*> changed(0x110000, nullptr);
    for (auto it = expected.begin(); it != expected.end(); ++it) {
      std::uint64_t cp = std::stoull(it.key());
      ASSERT_LT(cp, 0x110000u) << it.key();
      changed[cp] = it.value().get_ptr<const std::string*>();
      ASSERT_NE(changed[cp], nullptr) << "probe entry " << it.key() << " is not a string";
    }
    std::u32string text;
    for (char32_t cp = 0; cp < 0x110000 && failures < 20; ++cp) {
      if (!tested(cp)) continue;
      text.assign(1, cp);
      (*normalizer)->normalize(text);
      std::string got = engine::unicode::encode_utf8(text);
      std::string want;
      if (changed[cp] == nullptr) {
        engine::unicode::append_utf8(cp, want);
      } else {
        want = testing::hex_decode(*changed[cp]);
      }
      if (got != want) {
        ADD_FAILURE() << fmt::format("U+{:04X}: airlock gives \"{}\", tokenizers \"{}\"", static_cast<std::uint32_t>(cp), got, want);
        ++failures;
      }
    }
  } else {
    auto pre = engine::make_pre_tokenizer(*config);
    ASSERT_TRUE(pre.ok()) << pre.error().message();
    std::string wrap = probe->at("wrap").get<std::string>();
    std::u32string before = engine::unicode::decode_utf8(wrap.substr(0, wrap.find('|')));
    std::u32string after = engine::unicode::decode_utf8(wrap.substr(wrap.find('|') + 1));
    std::string counts = expected.get<std::string>();
    ASSERT_EQ(counts.size(), 0x110000u);
    std::vector<engine::PreToken> pieces;
    for (char32_t cp = 0; cp < 0x110000 && failures < 20; ++cp) {
      if (!tested(cp)) continue;
      pieces.assign(1, engine::PreToken{before + std::u32string(1, cp) + after, true});
      (*pre)->pre_tokenize(pieces);
      char got = static_cast<char>('0' + std::min<std::size_t>(9, pieces.size()));
      if (got != counts[cp]) {
        ADD_FAILURE() << fmt::format("U+{:04X}: airlock splits into {} pieces, tokenizers into {}", static_cast<std::uint32_t>(cp),
                                     got, counts[cp]);
        ++failures;
      }
    }
  }
  EXPECT_EQ(failures, 0);
}

INSTANTIATE_TEST_SUITE_P(Probes, UnicodeParity,
                         ::testing::Values("bert_clean", "bert_uncased", "bert_strip_accents", "nfd", "nfkd", "nfc", "nfkc",
                                           "lowercase", "strip_accents", "precompiled", "bert_pre", "byte_level",
                                           "whitespace", "digits"));

}  // namespace
}  // namespace airlock
