// Files compiled into the binary (the web UI under ui/ and openapi.json): the cluster is
// air-gapped, so the manager serves everything it shows from itself, never from a CDN.
// embed_assets.cmake generates their table at build time.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace airlock::manager {

struct EmbeddedAsset {
  std::string_view path;  // "ui/app.js", "openapi.json"
  std::string_view data;
};

// nullptr when there is no such file.
const EmbeddedAsset* find_embedded_asset(std::string_view path);
const std::vector<EmbeddedAsset>& embedded_assets();
// "text/html; charset=utf-8" for .html, ... from the extension.
std::string_view content_type_for(std::string_view path);

}  // namespace airlock::manager
