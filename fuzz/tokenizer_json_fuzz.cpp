// tokenizer.json from untrusted snapshots: loading must fail cleanly or give a tokenizer that
// encodes any text without crashing, hanging or reading out of bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto tokenizer = airlock::engine::Tokenizer::from_json(text, "fuzz/tokenizer.json");
  if (!tokenizer.ok()) return 0;
  std::string_view pair = "A second text, with [MASK] <mask> 東京 and \xff bytes.";
  for (std::string_view input : {std::string_view(""), std::string_view("Hello, world! unaffable caf\xc3\xa9"),
                                 std::string_view("  spaces\tand\nlines  \xe2\x96\x81 \xf0\x9f\x98\x80 ")}) {
    (void)tokenizer->encode(input);
    (void)tokenizer->encode(input, &pair);
  }
  return 0;
}
