#include "manager/embedded_assets.h"

namespace airlock::manager {

const EmbeddedAsset* find_embedded_asset(std::string_view path) {
  for (const EmbeddedAsset& asset : embedded_assets()) {
    if (asset.path == path) return &asset;
  }
  return nullptr;
}

std::string_view content_type_for(std::string_view path) {
  const auto ends = [&](std::string_view suffix) { return path.ends_with(suffix); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".json")) return "application/json";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

}  // namespace airlock::manager
