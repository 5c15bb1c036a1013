// SentencePiece's precompiled normalization map (the `Precompiled` normalizer of tokenizer.json):
// a darts-clone double-array trie over UTF-8 keys plus a pool of NUL-terminated replacements.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace airlock::engine {

class PrecompiledCharsmap {
 public:
  // `blob`: u32 LE trie size in bytes, the trie's u32 LE units, then the replacement pool.
  static Result<PrecompiledCharsmap> parse(std::string_view blob);

  // The replacement for the shortest key that is a prefix of `chunk` (what spm_precompiled,
  // and so Hugging Face `tokenizers`, does), or nullptr when no key is.
  const char* transform(std::string_view chunk, std::size_t* length) const;

  // Applies the map to `text` the way `tokenizers` does: grapheme by grapheme.
  std::u32string apply(std::u32string_view text) const;

 private:
  std::vector<std::uint32_t> units_;
  std::string pool_;
};

}  // namespace airlock::engine
