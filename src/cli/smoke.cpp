// `airlock smoke URL [--api-key K]`: the smoke test operators run against a deployed endpoint,
// the same check as
//   curl -sS -X POST "$ENDPOINT/v1/embeddings" -H "Authorization: Bearer $API_KEY"
//     -H "Content-Type: application/json" -d '{"input":["hello from the air gap"]}' | jq '.data[0].embedding | length'
#include "cli/smoke.h"

#include <fmt/format.h>

#include "cli/command.h"
#include "cli/store_options.h"
#include "core/json.h"
#include "core/redact.h"
#include "net/http_client.h"

namespace airlock::cli {
namespace {

std::string base_url(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.size() >= 3 && url.substr(url.size() - 3) == "/v1") url.resize(url.size() - 3);
  return url;
}

std::string server_message(const net::HttpResponse& response) {
  auto json = parse_json(response.body, "response");
  if (json.ok() && json->is_object() && json->contains("error")) {
    const Json& error = (*json)["error"];
    if (error.is_object() && error.contains("message") && error["message"].is_string()) return error["message"].get<std::string>();
    if (error.is_string()) return error.get<std::string>();
  }
  return response.body.substr(0, 300);
}

Error http_failure(const net::HttpResponse& response, std::string_view what) {
  ErrorCode code = response.status == 401 || response.status == 403 ? ErrorCode::kUnauthenticated
                   : response.status == 503                         ? ErrorCode::kUnavailable
                                                                    : ErrorCode::kNetwork;
  return Error(code, fmt::format("{} answered HTTP {}: {}", what, response.status, server_message(response)));
}

struct SmokeFlags {
  SmokeOptions options;
  bool json = false;
  double timeout_s = 30;
};

Status run_smoke_command(SmokeFlags flags) {
  if (flags.timeout_s <= 0) return invalid_argument("--timeout must be positive");
  flags.options.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(flags.timeout_s * 1000));
  AIRLOCK_ASSIGN_OR_RETURN(SmokeResult result, run_smoke(flags.options));
  if (flags.json) {
    Json out = {{"ok", true},
                {"url", base_url(flags.options.url) + result.route},
                {"model", result.model},
                {"kind", result.kind},
                {"prompt_tokens", result.prompt_tokens},
                {"milliseconds", result.milliseconds}};
    if (result.kind == "embedding") {
      out["vector_length"] = result.vector_length;
    } else {
      out["rankings"] = result.rankings;
    }
    print(dump_json(out, 2) + "\n");
    return ok_status();
  }
  if (result.kind == "embedding") {
    print(fmt::format("OK: POST {}{} answered a vector of length {} for \"{}\" ({} tokens, model {}, {:.1f} ms)\n",
                      base_url(flags.options.url), result.route, result.vector_length, flags.options.input,
                      result.prompt_tokens, result.model, result.milliseconds));
  } else {
    print(fmt::format("OK: POST {}{} ranked {} passages (model {}, a reranker, {:.1f} ms)\n", base_url(flags.options.url),
                      result.route, result.rankings, result.model, result.milliseconds));
  }
  return ok_status();
}

}  // namespace

Result<SmokeResult> run_smoke(const SmokeOptions& options) {
  if (options.url.empty()) return invalid_argument("smoke: give the endpoint URL, e.g. http://127.0.0.1:8000");
  if (!options.api_key.empty()) register_secret(options.api_key);
  net::HttpClientOptions client_options;
  client_options.ca_bundle = options.ca_bundle;
  client_options.insecure = options.insecure;
  client_options.total_timeout = options.timeout;
  client_options.connect_timeout = std::min<std::chrono::milliseconds>(options.timeout, std::chrono::milliseconds(10'000));
  client_options.max_retries = 0;
  AIRLOCK_ASSIGN_OR_RETURN(std::unique_ptr<net::HttpClient> client, net::HttpClient::create(client_options));
  const std::string base = base_url(options.url);
  auto with_key = [&](net::HttpRequest request) {
    if (!options.api_key.empty()) request.headers.set("Authorization", "Bearer " + options.api_key);
    return request;
  };

  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse ready, client->send(net::HttpRequest::get(base + "/v1/health/ready")));
  if (!ready.ok()) return http_failure(ready, base + "/v1/health/ready");

  SmokeResult result;
  result.kind = "embedding";
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse metadata, client->send(with_key(net::HttpRequest::get(base + "/v1/metadata"))));
  if (metadata.status == 401) return http_failure(metadata, base + "/v1/metadata");
  if (metadata.ok()) {
    auto json = parse_json(metadata.body, "metadata");
    if (json.ok() && json->contains("model") && (*json)["model"].is_object()) {
      const Json& model = (*json)["model"];
      if (model.contains("kind") && model["kind"].is_string()) result.kind = model["kind"].get<std::string>();
      if (model.contains("served_model_name") && model["served_model_name"].is_string()) {
        result.model = model["served_model_name"].get<std::string>();
      }
    }
  }

  const auto start = std::chrono::steady_clock::now();
  if (result.kind == "reranker") {
    result.route = "/v1/ranking";
    Json body = {{"query", {{"text", options.input}}},
                 {"passages", Json::array({{{"text", "an air gap separates networks"}}, {{"text", "bread and butter"}}})}};
    if (!result.model.empty()) body["model"] = result.model;
    AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response,
                             client->send(with_key(net::HttpRequest::post(base + result.route, dump_json(body), "application/json"))));
    result.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!response.ok()) return http_failure(response, "POST " + base + result.route);
    auto json = parse_json(response.body, "ranking response");
    if (!json.ok() || !json->is_object() || !json->contains("rankings") || !(*json)["rankings"].is_array()) {
      return parse_error(fmt::format("POST {}{} answered 200 without a \"rankings\" array", base, result.route));
    }
    result.rankings = static_cast<std::int64_t>((*json)["rankings"].size());
    return result;
  }
  result.route = "/v1/embeddings";
  // The operators' exact request: no model field, one input.
  Json body = {{"input", Json::array({options.input})}};
  AIRLOCK_ASSIGN_OR_RETURN(net::HttpResponse response,
                           client->send(with_key(net::HttpRequest::post(base + result.route, dump_json(body), "application/json"))));
  result.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!response.ok()) return http_failure(response, "POST " + base + result.route);
  auto json = parse_json(response.body, "embeddings response");
  if (!json.ok()) return json.error().with_context(fmt::format("POST {}{}", base, result.route));
  const Json& data = json->is_object() && json->contains("data") ? (*json)["data"] : Json();
  if (!data.is_array() || data.size() != 1 || !data[0].is_object() || !data[0].contains("embedding") ||
      !data[0]["embedding"].is_array() || data[0]["embedding"].empty()) {
    return parse_error(fmt::format("POST {}{} answered 200 without data[0].embedding as a non-empty array", base, result.route));
  }
  for (const Json& v : data[0]["embedding"]) {
    if (!v.is_number()) return parse_error("data[0].embedding holds a value that is not a number");
  }
  result.vector_length = static_cast<std::int64_t>(data[0]["embedding"].size());
  if (json->contains("model") && (*json)["model"].is_string()) result.model = (*json)["model"].get<std::string>();
  if (json->contains("usage") && (*json)["usage"].is_object() && (*json)["usage"].contains("prompt_tokens") &&
      (*json)["usage"]["prompt_tokens"].is_number_integer()) {
    result.prompt_tokens = (*json)["usage"]["prompt_tokens"].get<std::int64_t>();
  }
  return result;
}

void add_smoke_command(CLI::App& app, CommandContext context) {
  auto flags = std::make_shared<SmokeFlags>();
  CLI::App* command = app.add_subcommand(
      "smoke", "Smoke-test a served model: readiness, then one embedding (or ranking) request; prints the vector length");
  command->add_option("URL", flags->options.url, "The endpoint, e.g. http://127.0.0.1:8000")->required();
  command->add_option("--api-key", flags->options.api_key, "API key sent as a bearer token (better: AIRLOCK_API_KEY)")
      ->envname("AIRLOCK_API_KEY");
  command->add_option("--input", flags->options.input, "Text to embed")->capture_default_str();
  command->add_option("--ca-bundle", flags->options.ca_bundle, "PEM file of CAs to trust (HTTPS endpoints)");
  command->add_flag("--insecure", flags->options.insecure, "Do not verify the endpoint's TLS certificate");
  command->add_option("--timeout", flags->timeout_s, "Seconds for each request")->capture_default_str();
  command->add_flag("--json", flags->json, "Print the result as JSON");
  command->callback([flags, context] { context.action = [flags] { return run_smoke_command(*flags); }; });
}

AIRLOCK_REGISTER_COMMAND(51, add_smoke_command);

}  // namespace airlock::cli
