#include "server/api_requests.h"

#include <fmt/format.h>

#include <limits>

#include "core/json.h"
#include "core/strings.h"

namespace airlock::server {
namespace {

std::string type_name(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::string: return "a string";
    case Json::value_t::array: return "an array";
    case Json::value_t::object: return "an object";
    case Json::value_t::number_float: return "a number with a fraction";
    default: return "a number";
  }
}

ApiError wrong_type(std::string_view field, std::string_view expected, const Json& value) {
  return bad_request(fmt::format("'{}' must be {} (got {})", field, expected, type_name(value)), std::string(field));
}

// Parses the body into an object, with the checks every route shares.
std::variant<Json, ApiError> parse_body(std::string_view body, const RequestLimits& limits) {
  if (trim(body).empty()) return bad_request("the request body is empty: send a JSON object");
  if (json_nesting_depth(body, limits.max_depth) > limits.max_depth) {
    return bad_request(fmt::format("the request body nests deeper than {} levels", limits.max_depth));
  }
  auto json = parse_json(body, "request body");
  if (!json.ok()) return bad_request(json.error().message());
  if (!json->is_object()) return bad_request(fmt::format("the request body must be a JSON object (got {})", type_name(*json)));
  return std::move(*json);
}

// An optional string field: nullopt when absent or null.
std::variant<std::optional<std::string>, ApiError> optional_string(const Json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return wrong_type(field, "a string", *it);
  return std::optional<std::string>(it->get<std::string>());
}

std::variant<std::optional<bool>, ApiError> optional_bool(const Json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return wrong_type(field, "true or false", *it);
  return std::optional<bool>(it->get<bool>());
}

std::variant<engine::Truncate, ApiError> truncate_value(const Json& body, engine::Truncate fallback) {
  auto it = body.find("truncate");
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_string()) return wrong_type("truncate", "\"NONE\", \"START\" or \"END\"", *it);
  std::string value = to_lower(it->get<std::string>());
  if (value == "none") return engine::Truncate::kNone;
  if (value == "end") return engine::Truncate::kEnd;
  if (value == "start") return engine::Truncate::kStart;
  return bad_request(fmt::format("'truncate' must be \"NONE\", \"START\" or \"END\" (got \"{}\")", it->get<std::string>()),
                     std::string("truncate"));
}

std::variant<std::string, ApiError> model_field(const Json& body) {
  auto model = optional_string(body, "model");
  if (auto* e = std::get_if<ApiError>(&model)) return *e;
  return std::get<std::optional<std::string>>(model).value_or("");
}

std::optional<ApiError> too_many(std::string_view field, std::size_t count, const RequestLimits& limits) {
  if (count <= limits.max_inputs) return std::nullopt;
  return too_large(fmt::format("'{}' has {} items; this server accepts at most {} per request", field, count, limits.max_inputs),
                   std::string(field));
}

std::variant<std::vector<std::int32_t>, ApiError> token_array(const Json& array, const std::string& field) {
  if (array.empty()) return bad_request(fmt::format("'{}' is an empty token array", field), std::string("input"));
  std::vector<std::int32_t> ids;
  ids.reserve(array.size());
  for (std::size_t i = 0; i < array.size(); ++i) {
    const Json& v = array[i];
    if (!v.is_number_integer()) return wrong_type(fmt::format("{}[{}]", field, i), "a token id (an integer)", v);
    std::int64_t id = v.is_number_unsigned() ? static_cast<std::int64_t>(std::min<std::uint64_t>(v.get<std::uint64_t>(), 1ull << 40))
                                             : v.get<std::int64_t>();
    if (id < 0 || id > std::numeric_limits<std::int32_t>::max()) {
      return bad_request(fmt::format("'{}[{}]' is not a valid token id ({})", field, i, id), std::string("input"));
    }
    ids.push_back(static_cast<std::int32_t>(id));
  }
  return ids;
}

}  // namespace

std::size_t json_nesting_depth(std::string_view text, std::size_t limit) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

ModelName split_model_suffix(std::string_view model) {
  for (auto [suffix, type] : {std::pair<std::string_view, engine::InputType>{"-query", engine::InputType::kQuery},
                              {"-passage", engine::InputType::kPassage}}) {
    if (model.size() > suffix.size() && model.substr(model.size() - suffix.size()) == suffix) {
      return {std::string(model.substr(0, model.size() - suffix.size())), type};
    }
  }
  return {std::string(model), std::nullopt};
}

Parsed<EmbeddingsRequest> parse_embeddings_request(std::string_view body_text, const RequestLimits& limits) {
  auto parsed = parse_body(body_text, limits);
  if (auto* e = std::get_if<ApiError>(&parsed)) return *e;
  const Json& body = std::get<Json>(parsed);
  EmbeddingsRequest request;

  auto model = model_field(body);
  if (auto* e = std::get_if<ApiError>(&model)) return *e;
  request.model = std::get<std::string>(model);

  auto it = body.find("input");
  if (it == body.end() || it->is_null()) return bad_request("'input' is required: a string or an array of strings", std::string("input"));
  const Json& input = *it;
  if (input.is_string()) {
    request.texts.push_back(input.get<std::string>());
  } else if (input.is_array()) {
    if (input.empty()) return bad_request("'input' is an empty array", std::string("input"));
    if (input[0].is_number_integer()) {
      // One token array: one input, however many ids (the model's limit applies to it later).
      request.tokens = true;
      auto ids = token_array(input, "input");
      if (auto* e = std::get_if<ApiError>(&ids)) return *e;
      request.token_inputs.push_back(std::move(std::get<std::vector<std::int32_t>>(ids)));
    } else if (input[0].is_array()) {
      if (auto e = too_many("input", input.size(), limits)) return *e;
      request.tokens = true;
      for (std::size_t i = 0; i < input.size(); ++i) {
        std::string field = fmt::format("input[{}]", i);
        if (!input[i].is_array()) return wrong_type(field, "a token array (all inputs of one kind)", input[i]);
        auto ids = token_array(input[i], field);
        if (auto* e = std::get_if<ApiError>(&ids)) return *e;
        request.token_inputs.push_back(std::move(std::get<std::vector<std::int32_t>>(ids)));
      }
    } else {
      if (auto e = too_many("input", input.size(), limits)) return *e;
      request.texts.reserve(input.size());
      for (std::size_t i = 0; i < input.size(); ++i) {
        if (!input[i].is_string()) return wrong_type(fmt::format("input[{}]", i), "a string", input[i]);
        request.texts.push_back(input[i].get<std::string>());
      }
    }
  } else {
    return wrong_type("input", "a string, an array of strings or token arrays", input);
  }
  for (std::size_t i = 0; i < request.texts.size(); ++i) {
    if (request.texts[i].empty()) {
      return bad_request(request.texts.size() == 1 ? "'input' is an empty string" : fmt::format("'input[{}]' is an empty string", i),
                         std::string("input"));
    }
  }

  auto format = optional_string(body, "encoding_format");
  if (auto* e = std::get_if<ApiError>(&format)) return *e;
  if (auto value = std::get<std::optional<std::string>>(format)) {
    if (*value == "float") {
      request.encoding_format = EncodingFormat::kFloat;
    } else if (*value == "base64") {
      request.encoding_format = EncodingFormat::kBase64;
    } else {
      return bad_request(fmt::format("'encoding_format' must be \"float\" or \"base64\" (got \"{}\")", *value),
                         std::string("encoding_format"));
    }
  }

  if (auto d = body.find("dimensions"); d != body.end() && !d->is_null()) {
    if (!d->is_number_integer()) return wrong_type("dimensions", "a positive integer", *d);
    std::int64_t value = d->is_number_unsigned()
                             ? static_cast<std::int64_t>(std::min<std::uint64_t>(d->get<std::uint64_t>(), 1u << 24))
                             : d->get<std::int64_t>();
    if (value < 1) return bad_request("'dimensions' must be a positive integer", std::string("dimensions"));
    request.dimensions = value;
  }

  auto type = optional_string(body, "input_type");
  if (auto* e = std::get_if<ApiError>(&type)) return *e;
  if (auto value = std::get<std::optional<std::string>>(type)) {
    std::string lower = to_lower(*value);
    if (lower == "query") {
      request.input_type = engine::InputType::kQuery;
    } else if (lower == "passage" || lower == "document") {
      request.input_type = engine::InputType::kPassage;
    } else {
      return bad_request(fmt::format("'input_type' must be \"query\" or \"passage\" (got \"{}\")", *value),
                         std::string("input_type"));
    }
  }

  auto truncate = truncate_value(body, engine::Truncate::kNone);
  if (auto* e = std::get_if<ApiError>(&truncate)) return *e;
  request.truncate = std::get<engine::Truncate>(truncate);

  auto user = optional_string(body, "user");
  if (auto* e = std::get_if<ApiError>(&user)) return *e;
  request.user = std::get<std::optional<std::string>>(user).value_or("");
  return request;
}

Parsed<RankingRequest> parse_ranking_request(std::string_view body_text, const RequestLimits& limits) {
  auto parsed = parse_body(body_text, limits);
  if (auto* e = std::get_if<ApiError>(&parsed)) return *e;
  const Json& body = std::get<Json>(parsed);
  RankingRequest request;
  auto model = model_field(body);
  if (auto* e = std::get_if<ApiError>(&model)) return *e;
  request.model = std::get<std::string>(model);

  auto text_of = [](const Json& item, const std::string& field) -> std::variant<std::string, ApiError> {
    if (!item.is_object()) return wrong_type(field, "an object {\"text\": \"...\"}", item);
    auto t = item.find("text");
    if (t == item.end()) return bad_request(fmt::format("'{}.text' is required", field), field);
    if (!t->is_string()) return wrong_type(field + ".text", "a string", *t);
    return t->get<std::string>();
  };
  auto q = body.find("query");
  if (q == body.end() || q->is_null()) return bad_request("'query' is required: {\"text\": \"...\"}", std::string("query"));
  auto query = text_of(*q, "query");
  if (auto* e = std::get_if<ApiError>(&query)) return *e;
  request.query = std::get<std::string>(query);

  auto p = body.find("passages");
  if (p == body.end() || p->is_null()) return bad_request("'passages' is required: [{\"text\": \"...\"}, ...]", std::string("passages"));
  if (!p->is_array()) return wrong_type("passages", "an array of {\"text\": \"...\"}", *p);
  if (p->empty()) return bad_request("'passages' is an empty array", std::string("passages"));
  if (auto e = too_many("passages", p->size(), limits)) return *e;
  for (std::size_t i = 0; i < p->size(); ++i) {
    auto text = text_of((*p)[i], fmt::format("passages[{}]", i));
    if (auto* e = std::get_if<ApiError>(&text)) return *e;
    request.passages.push_back(std::move(std::get<std::string>(text)));
  }
  auto truncate = truncate_value(body, engine::Truncate::kNone);
  if (auto* e = std::get_if<ApiError>(&truncate)) return *e;
  request.truncate = std::get<engine::Truncate>(truncate);
  return request;
}

Parsed<RankingRequest> parse_rerank_request(std::string_view body_text, const RequestLimits& limits) {
  auto parsed = parse_body(body_text, limits);
  if (auto* e = std::get_if<ApiError>(&parsed)) return *e;
  const Json& body = std::get<Json>(parsed);
  RankingRequest request;
  request.tei = true;
  auto model = model_field(body);
  if (auto* e = std::get_if<ApiError>(&model)) return *e;
  request.model = std::get<std::string>(model);

  auto q = body.find("query");
  if (q == body.end() || q->is_null()) return bad_request("'query' is required: a string", std::string("query"));
  if (!q->is_string()) return wrong_type("query", "a string", *q);
  request.query = q->get<std::string>();
  auto t = body.find("texts");
  if (t == body.end() || t->is_null()) return bad_request("'texts' is required: an array of strings", std::string("texts"));
  if (!t->is_array()) return wrong_type("texts", "an array of strings", *t);
  if (t->empty()) return bad_request("'texts' is an empty array", std::string("texts"));
  if (auto e = too_many("texts", t->size(), limits)) return *e;
  for (std::size_t i = 0; i < t->size(); ++i) {
    if (!(*t)[i].is_string()) return wrong_type(fmt::format("texts[{}]", i), "a string", (*t)[i]);
    request.passages.push_back((*t)[i].get<std::string>());
  }
  // TEI: truncate is a boolean (default false: over-long input is an error), the side comes
  // from truncation_direction.
  auto truncate = optional_bool(body, "truncate");
  if (auto* e = std::get_if<ApiError>(&truncate)) return *e;
  auto direction = optional_string(body, "truncation_direction");
  if (auto* e = std::get_if<ApiError>(&direction)) return *e;
  bool left = false;
  if (auto d = std::get<std::optional<std::string>>(direction)) {
    std::string lower = to_lower(*d);
    if (lower == "left") {
      left = true;
    } else if (lower != "right") {
      return bad_request(fmt::format("'truncation_direction' must be \"Right\" or \"Left\" (got \"{}\")", *d),
                         std::string("truncation_direction"));
    }
  }
  request.truncate = std::get<std::optional<bool>>(truncate).value_or(false)
                         ? (left ? engine::Truncate::kStart : engine::Truncate::kEnd)
                         : engine::Truncate::kNone;
  auto raw = optional_bool(body, "raw_scores");
  if (auto* e = std::get_if<ApiError>(&raw)) return *e;
  request.raw_scores = std::get<std::optional<bool>>(raw).value_or(false);
  auto ret = optional_bool(body, "return_text");
  if (auto* e = std::get_if<ApiError>(&ret)) return *e;
  request.return_text = std::get<std::optional<bool>>(ret).value_or(false);
  return request;
}

}  // namespace airlock::server
