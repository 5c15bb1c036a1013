#include "server/api_responses.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/base64.h"
#include "core/json.h"

namespace airlock::server {

std::string float32_le_bytes(std::span<const float> values) {
  std::string bytes(values.size() * 4, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &values[i], 4);
    for (int b = 0; b < 4; ++b) bytes[i * 4 + static_cast<std::size_t>(b)] = static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  return bytes;
}

Result<std::string> render_embeddings(std::span<const float> values, std::int64_t rows, std::int64_t dimensions,
                                      std::string_view model, EncodingFormat format, std::int64_t prompt_tokens) {
  for (float v : values) {
    if (!std::isfinite(v)) return internal_error("the model produced a non-finite value (NaN or infinity)");
  }
  fmt::memory_buffer out;
  const auto dims = static_cast<std::size_t>(dimensions);
  // Floats print as ~11 characters; reserve once.
  out.reserve(64 + static_cast<std::size_t>(rows) * (48 + (format == EncodingFormat::kFloat ? dims * 12 : dims * 4 * 4 / 3 + 4)));
  fmt::format_to(std::back_inserter(out), R"({{"object":"list","data":[)");
  for (std::int64_t r = 0; r < rows; ++r) {
    if (r > 0) out.push_back(',');
    fmt::format_to(std::back_inserter(out), R"({{"object":"embedding","index":{},"embedding":)", r);
    std::span<const float> row = values.subspan(static_cast<std::size_t>(r) * dims, dims);
    if (format == EncodingFormat::kFloat) {
      out.push_back('[');
      for (std::size_t i = 0; i < row.size(); ++i) {
        if (i > 0) out.push_back(',');
        fmt::format_to(std::back_inserter(out), "{}", row[i]);
      }
      out.push_back(']');
    } else {
      out.push_back('"');
      std::string encoded = base64_encode(float32_le_bytes(row));
      out.append(encoded.data(), encoded.data() + encoded.size());
      out.push_back('"');
    }
    out.push_back('}');
  }
  std::string name = dump_json(Json(std::string(model)));
  fmt::format_to(std::back_inserter(out), R"(],"model":{},"usage":{{"prompt_tokens":{},"total_tokens":{}}}}})", name,
                 prompt_tokens, prompt_tokens);
  return fmt::to_string(out);
}

std::string render_rankings(const RankingRequest& request, std::span<const float> logits, std::string_view model,
                            std::int64_t prompt_tokens) {
  std::vector<std::size_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return logits[a] > logits[b]; });
  auto finite = [](double x) { return std::isfinite(x) ? Json(x) : Json(nullptr); };
  if (request.tei) {
    Json out = Json::array();
    for (std::size_t i : order) {
      double logit = logits[i];
      Json item = {{"index", i}, {"score", finite(request.raw_scores ? logit : 1.0 / (1.0 + std::exp(-logit)))}};
      if (request.return_text) item["text"] = request.passages[i];
      out.push_back(std::move(item));
    }
    return dump_json(out);
  }
  Json rankings = Json::array();
  for (std::size_t i : order) rankings.push_back({{"index", i}, {"logit", finite(logits[i])}});
  return dump_json(Json{{"rankings", rankings},
                        {"model", std::string(model)},
                        {"usage", {{"prompt_tokens", prompt_tokens}, {"total_tokens", prompt_tokens}}}});
}

}  // namespace airlock::server
