// Any bytes as an answer of NGC or the Hugging Face Hub (the first byte picks the parser): each
// must return a value or an error, never crash, and whatever parses must carry safe paths and
// well-formed hashes, because fetch names files after them.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/hex.h"
#include "core/paths.h"
#include "fetch/hub_responses.h"

namespace {

void check_path(const std::string& path) {
  if (!airlock::validate_relative_path(path, "fuzz").ok()) __builtin_trap();
}

void check_hf_file(const airlock::fetch::HfFile& file) {
  check_path(file.path);
  if (!file.blob_id.empty() && !airlock::is_lower_hex(file.blob_id, 40)) __builtin_trap();
  if (file.lfs_sha256 && !airlock::is_lower_hex(*file.lfs_sha256, 64)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      if (auto page = airlock::fetch::parse_ngc_file_page(text, "fuzz"); page.ok()) {
        for (const auto& file : page->files) check_path(file.path);
        if (page->total_pages < 1) __builtin_trap();
      }
      break;
    case 1:
      if (auto token = airlock::fetch::parse_ngc_token(text, "fuzz"); token.ok() && token->token.empty()) __builtin_trap();
      break;
    case 2:
      if (auto info = airlock::fetch::parse_hf_revision_info(text, "fuzz"); info.ok()) {
        if (!airlock::is_lower_hex(info->sha, 40)) __builtin_trap();
        for (const auto& file : info->siblings) check_hf_file(file);
      }
      break;
    case 3:
      if (auto tree = airlock::fetch::parse_hf_tree_page(text, "fuzz"); tree.ok()) {
        for (const auto& file : *tree) check_hf_file(file);
      }
      break;
    case 4:
      (void)airlock::fetch::parse_link_next(text);
      break;
    default:
      (void)airlock::fetch::normalize_etag(text);
      break;
  }
  return 0;
}
