// The /api/v1 REST API of a running `airlock manager`, as curl and scripts meet it: access keys
// (401/403), the {"data"} / {"error": {code, message}} shapes, the seeded default models,
// validation errors, PATCH/DELETE, the check-path action on a store pushed with `airlock push`,
// concurrent writes, durability across kill -9, and the OpenAPI document held against both the
// routes and the live responses.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "manager/access_keys.h"
#include "manager/embedded_assets.h"
#include "manager/kubernetes_deployer.h"
#include "manager/manager_api.h"
#include "manager/model_registry.h"
#include "manager_fixture.h"
#include "openapi_check.h"

namespace airlock::testing {
namespace {

std::string to_upper_method(std::string method) {
  for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return method;
}

class ManagerApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempDir();
    manager_ = new ManagerProcess(root_->path() / "data");
    admin_ = new std::string(manager_->create_key("admin"));
    viewer_ = new std::string(manager_->create_key("dashboard", "viewer"));
    ASSERT_TRUE(manager_->start()) << manager_->log();
  }
  static void TearDownTestSuite() {
    delete manager_;
    delete admin_;
    delete viewer_;
    delete root_;
  }
  static ApiResponse call(const std::string& method, const std::string& path, const std::optional<Json>& body = std::nullopt,
                          const std::string& key = "") {
    return manager_->call(method, path, key.empty() ? *admin_ : key, body);
  }
  static OpenApiChecker openapi() {
    const manager::EmbeddedAsset* asset = manager::find_embedded_asset("openapi.json");
    return OpenApiChecker(parse_json(asset->data, "openapi.json").value());
  }
  static void expect_conforms(const ApiResponse& response, const std::string& path, const std::string& method) {
    const Json schema = openapi().response_schema(path, method, response.status);
    ASSERT_FALSE(schema.is_null()) << method << " " << path << " " << response.status << " is not in the document";
    auto problems = openapi().check(response.json, schema);
    EXPECT_TRUE(problems.empty()) << method << " " << path << ": " << ::testing::PrintToString(problems);
  }

  static TempDir* root_;
  static ManagerProcess* manager_;
  static std::string* admin_;
  static std::string* viewer_;
};

TempDir* ManagerApiTest::root_ = nullptr;
ManagerProcess* ManagerApiTest::manager_ = nullptr;
std::string* ManagerApiTest::admin_ = nullptr;
std::string* ManagerApiTest::viewer_ = nullptr;

TEST_F(ManagerApiTest, EveryRouteNeedsAnAccessKey) {
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/v1/ai-models"}, {"POST", "/api/v1/ai-models"}, {"GET", "/api/v1/ai-models/x"},
           {"PATCH", "/api/v1/ai-models/x"}, {"DELETE", "/api/v1/ai-models/x"}, {"POST", "/api/v1/check-path"},
           {"GET", "/api/v1/info"}, {"GET", "/api/v1/openapi.json"}, {"GET", "/api/v1/ai-models/x/api-keys"}}) {
    ApiResponse missing = manager_->call(method, path, "", Json::object());
    EXPECT_TRUE(is_error(missing, 401, "x-access-key")) << method << " " << path;
    ApiResponse wrong = manager_->call(method, path, "alk_000000000000000000000000000000000000000000000000");
    EXPECT_TRUE(is_error(wrong, 401)) << method << " " << path;
    // The refusal never echoes the key it was given.
    EXPECT_EQ(wrong.body.find("alk_0000"), std::string::npos);
  }
  EXPECT_EQ(manager_->call("GET", "/health/ready", "").status, 200);  // probes need no key
}

TEST_F(ManagerApiTest, ViewerReadsButCannotChangeAndRevokedKeysStopWorking) {
  EXPECT_EQ(call("GET", "/api/v1/ai-models", std::nullopt, *viewer_).status, 200);
  ApiResponse info = call("GET", "/api/v1/info", std::nullopt, *viewer_);
  EXPECT_EQ(info.json["data"]["accessKey"]["role"], "viewer");
  ApiResponse create = call("POST", "/api/v1/ai-models", Json{{"name", "nope"}, {"kind", "embedding"}}, *viewer_);
  EXPECT_TRUE(is_error(create, 403, "viewer"));
  EXPECT_EQ(create.json["error"]["code"], "forbidden");
  // check-path only reads: a viewer may.
  EXPECT_EQ(call("POST", "/api/v1/check-path", Json{{"modelProfilesPath", "file:///nonexistent/x"}}, *viewer_).status, 200);

  const std::string temporary = manager_->create_key("temporary");
  EXPECT_EQ(call("GET", "/api/v1/ai-models", std::nullopt, temporary).status, 200);
  auto revoked = run_command({airlock_binary().string(), "manager", "access-key", "revoke",
                              temporary.substr(0, 12), "--data-dir", manager_->data_dir().string()});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_TRUE(is_error(call("GET", "/api/v1/ai-models", std::nullopt, temporary), 401));
  auto listed = run_command({airlock_binary().string(), "manager", "access-key", "ls", "--data-dir",
                             manager_->data_dir().string()});
  ASSERT_EQ(listed.exit_code, 0);
  EXPECT_NE(listed.out.find("temporary"), std::string::npos);
  EXPECT_NE(listed.out.find("revoked"), std::string::npos);
  EXPECT_EQ(listed.out.find(temporary), std::string::npos);  // never the key itself
}

TEST_F(ManagerApiTest, DefaultModelsAreSeededWithTheirVendorImages) {
  ApiResponse list = call("GET", "/api/v1/ai-models?isDefault=true");
  ASSERT_EQ(list.status, 200);
  expect_conforms(list, "/api/v1/ai-models", "get");
  std::map<std::string, Json> by_name;
  for (const Json& model : list.json["data"]) by_name[model["name"]] = model;
  ASSERT_TRUE(by_name.contains("llama-3.3-nemotron-super-49b-v1"));
  EXPECT_EQ(by_name["llama-3.3-nemotron-super-49b-v1"]["imageUrl"], "nvcr.io/nim/nvidia/llama-3.3-nemotron-super-49b-v1:1.8.5");
  EXPECT_EQ(by_name["llama-3.3-nemotron-super-49b-v1"]["compute"]["gpuCount"], 4);
  EXPECT_EQ(by_name["llama-3.2-nemoretriever-300m-embed-v1"]["kind"], "embedding");
  EXPECT_EQ(by_name["llama-3.2-nv-rerankqa-1b-v2"]["kind"], "reranker");
  EXPECT_EQ(by_name["nvclip"]["imageUrl"], "nvcr.io/nim/nvidia/nvclip:latest");
  EXPECT_EQ(by_name["paddleocr"]["imageUrl"], "nvcr.io/nim/baidu/paddleocr:latest");
  EXPECT_EQ(by_name["airlock-embedding"]["runtime"], "airlock");
  EXPECT_EQ(by_name["airlock-reranker"]["kind"], "reranker");
  for (const auto& [name, model] : by_name) {
    EXPECT_EQ(model["isDefault"], true);
    EXPECT_EQ(model["status"], "Unknown") << name;  // listed, not deployed
    EXPECT_TRUE(model["endpoint"].is_null());
  }
  EXPECT_EQ(call("GET", "/api/v1/ai-models?kind=ocr").json["data"].size(), 1u);
  EXPECT_TRUE(is_error(call("GET", "/api/v1/ai-models?kind=chat"), 400, "unknown kind"));
  EXPECT_TRUE(is_error(call("GET", "/api/v1/ai-models?isDefault=maybe"), 400));
}

TEST_F(ManagerApiTest, PatchPointsADefaultAtThePrivateRegistry) {
  ApiResponse found = call("GET", "/api/v1/ai-models/nvclip");  // by name works too
  ASSERT_EQ(found.status, 200) << found.body;
  expect_conforms(found, "/api/v1/ai-models/{id}", "get");
  const std::string id = found.json["data"]["id"];
  ApiResponse patched = call("PATCH", "/api/v1/ai-models/" + id, Json{{"imageUrl", "registry.corp.local:5000/nim/nvclip:1.0"}});
  ASSERT_EQ(patched.status, 200) << patched.body;
  expect_conforms(patched, "/api/v1/ai-models/{id}", "patch");
  EXPECT_EQ(patched.json["data"]["imageUrl"], "registry.corp.local:5000/nim/nvclip:1.0");
  EXPECT_EQ(call("GET", "/api/v1/ai-models/" + id).json["data"]["imageUrl"], "registry.corp.local:5000/nim/nvclip:1.0");
  EXPECT_TRUE(is_error(call("PATCH", "/api/v1/ai-models/" + id, Json{{"name", "x"}}), 400, "cannot be changed"));
  EXPECT_TRUE(is_error(call("PATCH", "/api/v1/ai-models/" + id, Json{{"imageUrl", "https://nvcr.io/x"}}), 400, "scheme"));
  EXPECT_TRUE(is_error(call("PATCH", "/api/v1/ai-models/m-doesnotexist", Json{{"replicas", 1}}), 404));
}

TEST_F(ManagerApiTest, ValidationErrorsSayWhatToChange) {
  const std::vector<std::pair<Json, std::string>> cases = {
      {Json{{"name", "a"}, {"kind", "embedding"}, {"gpu", 1}}, "unknown field 'gpu'"},
      {Json{{"name", "a"}, {"kind", "embedding"}, {"modelProfilesPath", "ftp://x/y"}}, "not a store form"},
      {Json{{"name", "a"}, {"kind", "embedding"}, {"modelProfilesPath", "s3://b/x?X-Amz-Signature=abc"}}, "query"},
      {Json{{"name", "a"}, {"kind", "embedding"}, {"compute", {{"gpuType", "H100"}, {"gpuCount", 64}}}}, "impossible"},
      {Json{{"name", "a"}, {"kind", "llm"}, {"imageUrl", "nvcr.io/nim/x:1"}, {"compute", {{"gpuCount", 0}}}},
       "at least one GPU"},
      {Json{{"name", "Not Valid"}, {"kind", "embedding"}}, "lowercase"},
      {Json{{"kind", "embedding"}}, "'name' is required"},
      {Json::array(), "JSON object"},
  };
  for (const auto& [body, fragment] : cases) {
    ApiResponse response = call("POST", "/api/v1/ai-models", body);
    EXPECT_TRUE(is_error(response, 400, fragment)) << dump_json(body);
    expect_conforms(response, "/api/v1/ai-models", "post");
  }
  net::HttpHeaders text;
  text.set("Content-Type", "text/plain");
  EXPECT_TRUE(is_error(manager_->call("POST", "/api/v1/ai-models", *admin_, Json{{"name", "a"}}, text), 400, "not JSON"));
  net::HttpRequest raw = net::HttpRequest::post(manager_->url() + "/api/v1/ai-models", "{\"name\": ", "application/json");
  raw.headers.set("x-access-key", *admin_);
  auto malformed = test_client()->send(std::move(raw));
  ASSERT_TRUE(malformed.ok());
  EXPECT_EQ(malformed->status, 400);
  EXPECT_NE(malformed->body.find("not valid JSON"), std::string::npos);

  ApiResponse first = call("POST", "/api/v1/ai-models", Json{{"name", "dup-name"}, {"kind", "embedding"}});
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_TRUE(is_error(call("POST", "/api/v1/ai-models", Json{{"name", "dup-name"}, {"kind", "embedding"}}), 409, "already exists"));
}

TEST_F(ManagerApiTest, CreateShowsTheKeyOnceAndDeleteRemoves) {
  ApiResponse created = call("POST", "/api/v1/ai-models",
                             Json{{"name", "not-deployed"}, {"kind", "reranker"}, {"description", "no path yet"}});
  ASSERT_EQ(created.status, 201) << created.body;
  expect_conforms(created, "/api/v1/ai-models", "post");
  const Json model = created.json["data"];
  EXPECT_TRUE(model["apiKey"].get<std::string>().starts_with("amk_"));
  EXPECT_EQ(model["status"], "Unknown");
  EXPECT_EQ(created.headers.get("Location").value_or(""), "/api/v1/ai-models/" + model["id"].get<std::string>());
  ApiResponse fetched = call("GET", "/api/v1/ai-models/" + model["id"].get<std::string>());
  EXPECT_FALSE(fetched.json["data"].contains("apiKey"));  // never again
  EXPECT_EQ(fetched.json["data"]["apiKeys"].size(), 1u);

  ApiResponse key = call("POST", "/api/v1/ai-models/" + model["id"].get<std::string>() + "/api-keys");
  ASSERT_EQ(key.status, 201);
  expect_conforms(key, "/api/v1/ai-models/{id}/api-keys", "post");
  ApiResponse keys = call("GET", "/api/v1/ai-models/" + model["id"].get<std::string>() + "/api-keys");
  expect_conforms(keys, "/api/v1/ai-models/{id}/api-keys", "get");
  EXPECT_EQ(keys.json["data"].size(), 2u);
  ApiResponse revoked = call("DELETE", "/api/v1/ai-models/" + model["id"].get<std::string>() + "/api-keys/" +
                                           key.json["data"]["id"].get<std::string>());
  expect_conforms(revoked, "/api/v1/ai-models/{id}/api-keys/{keyId}", "delete");

  ApiResponse deleted = call("DELETE", "/api/v1/ai-models/" + model["id"].get<std::string>());
  ASSERT_EQ(deleted.status, 200);
  expect_conforms(deleted, "/api/v1/ai-models/{id}", "delete");
  EXPECT_TRUE(is_error(call("GET", "/api/v1/ai-models/" + model["id"].get<std::string>()), 404));
  EXPECT_TRUE(is_error(call("DELETE", "/api/v1/ai-models/" + model["id"].get<std::string>()), 404));
}

TEST_F(ManagerApiTest, CheckPathReportsWhatAPushLeft) {
  make_profile_cache(root_->path() / "cache");
  const std::string store = "file://" + (root_->path() / "store" / "tiny").string();
  auto pushed = run_command({airlock_binary().string(), "push", (root_->path() / "cache").string(), store});
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;

  ApiResponse check = call("POST", "/api/v1/check-path", Json{{"modelProfilesPath", store}});
  ASSERT_EQ(check.status, 200) << check.body;
  expect_conforms(check, "/api/v1/check-path", "post");
  const Json& data = check.json["data"];
  EXPECT_EQ(data["ok"], true);
  EXPECT_EQ(data["files"], 4);  // 2 blobs, the ref and the profile record (symlinks are not files)
  EXPECT_EQ(data["symlinks"], 2);
  ASSERT_EQ(data["profiles"].size(), 1u);
  EXPECT_EQ(data["profiles"][0]["id"], "airlock-cpu-fp32-test");
  EXPECT_EQ(data["profiles"][0]["bytes"], 4096 + 18);
  EXPECT_EQ(data["profiles"][0]["complete"], true);

  ApiResponse empty = call("POST", "/api/v1/check-path", Json{{"modelProfilesPath", "file://" + root_->path().string() + "/nothing"}});
  ASSERT_EQ(empty.status, 200);
  EXPECT_EQ(empty.json["data"]["ok"], false);
  EXPECT_NE(empty.json["data"]["message"].get<std::string>().find("no store index"), std::string::npos);
  EXPECT_TRUE(is_error(call("POST", "/api/v1/check-path", Json{{"modelProfilesPath", "relative/x"}}), 400, "scheme"));
  EXPECT_TRUE(is_error(call("POST", "/api/v1/check-path", Json{{"path", store}}), 400, "unknown field"));

  ApiResponse model = call("POST", "/api/v1/ai-models", Json{{"name", "checked"}, {"kind", "embedding"}, {"replicas", 0},
                                                            {"modelProfilesPath", store}});
  ASSERT_EQ(model.status, 201);
  ApiResponse by_model = call("POST", "/api/v1/ai-models/checked/check-path");
  EXPECT_EQ(by_model.json["data"]["profiles"][0]["id"], "airlock-cpu-fp32-test");
  expect_conforms(by_model, "/api/v1/ai-models/{id}/check-path", "post");
}

TEST_F(ManagerApiTest, ConcurrentCreatesOfOneNameYieldOneModel) {
  std::atomic<int> created{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      ApiResponse response = call("POST", "/api/v1/ai-models", Json{{"name", "raced"}, {"kind", "embedding"}});
      if (response.status == 201) ++created;
      if (response.status == 409) ++conflicts;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(conflicts.load(), 7);
}

TEST_F(ManagerApiTest, InfoAndTheDocumentItself) {
  ApiResponse info = call("GET", "/api/v1/info");
  ASSERT_EQ(info.status, 200);
  expect_conforms(info, "/api/v1/info", "get");
  EXPECT_EQ(info.json["data"]["deployer"], "local");
  ApiResponse document = call("GET", "/api/v1/openapi.json");
  ASSERT_EQ(document.status, 200);
  EXPECT_EQ(document.json["openapi"], "3.0.3");
  EXPECT_EQ(document.json, openapi().document());
}

// The document lists exactly the routes the manager has, with exactly the fields its parsers take.
TEST(OpenApiDocument, MatchesTheRoutesAndTheFieldLists) {
  TempDir dir;
  auto db = manager::open_manager_database(dir.path()).value();
  manager::AccessKeys keys(*db);
  manager::ModelRegistry models(*db);
  manager::KubernetesDeployerOptions k8s;
  k8s.manifests_dir = dir.path() / "manifests";
  auto deployer = manager::make_kubernetes_deployer(k8s, [](auto&&...) {}).value();
  auto proxy = manager::ModelProxy::create({}).value();
  manager::ManagerApi api(keys, models, *deployer, *proxy, {});
  net::Router router;
  ASSERT_TRUE(api.add_routes(router).ok());

  const manager::EmbeddedAsset* asset = manager::find_embedded_asset("openapi.json");
  ASSERT_NE(asset, nullptr);
  const Json document = parse_json(asset->data, "openapi.json").value();
  std::set<std::string> documented, served;
  for (const auto& [path, item] : document["paths"].items()) {
    for (const auto& [method, operation] : item.items()) {
      if (method != "parameters") documented.insert(to_upper_method(method) + " " + path);
    }
  }
  for (const net::Route& route : router.routes()) {
    if (route.pattern == "/" || route.pattern.starts_with("/ui/")) continue;  // the web UI, not the API
    std::string pattern = route.pattern;
    if (auto star = pattern.find("{rest*}"); star != std::string::npos) pattern.replace(star, 7, "{path}");
    served.insert(route.method + " " + pattern);
  }
  EXPECT_EQ(documented, served);

  const auto property_names = [&](const std::string& schema) {
    std::set<std::string> names;
    for (const auto& [name, value] : document["components"]["schemas"][schema]["properties"].items()) names.insert(name);
    return names;
  };
  EXPECT_EQ(property_names("AiModelCreate"), std::set<std::string>(std::begin(manager::kCreateFields), std::end(manager::kCreateFields)));
  EXPECT_EQ(property_names("AiModelPatch"), std::set<std::string>(std::begin(manager::kPatchFields), std::end(manager::kPatchFields)));
  EXPECT_EQ(property_names("ComputeInput"), std::set<std::string>(std::begin(manager::kComputeFields), std::end(manager::kComputeFields)));
  manager::AiModel model;
  std::set<std::string> model_keys;
  const Json model_json = manager::model_to_json(model, "");
  for (const auto& [name, value] : model_json.items()) model_keys.insert(name);
  EXPECT_EQ(property_names("AiModel"), model_keys);
}

}  // namespace
}  // namespace airlock::testing

namespace airlock::testing {
namespace {

std::shared_ptr<net::HttpClient> client_trusting(const std::string& ca_bundle) {
  net::HttpClientOptions options;
  options.max_retries = 0;
  options.ca_bundle = ca_bundle;
  return std::shared_ptr<net::HttpClient>(net::HttpClient::create(options).value());
}

// --tls-cert/--tls-key: the API answers over HTTPS to a client that trusts the certificate, and
// neither to one that does not nor to plain HTTP on that port.
TEST(ManagerTls, ServesTheApiOverHttpsOnly) {
  TempDir work;
  const std::string cert = (work.path() / "cert.pem").string(), key = (work.path() / "key.pem").string();
  CommandResult made = run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out",
                                    cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"});
  if (made.exit_code != 0) GTEST_SKIP() << "the openssl command is not available to make a test certificate: " << made.err;
  ManagerProcess keys(work.path() / "data");
  const std::string admin = keys.create_key("admin");
  const int port = free_port();
  pid_t pid = spawn_background({airlock_binary().string(), "manager", "--data-dir", (work.path() / "data").string(),
                                "--host", "127.0.0.1", "--port", std::to_string(port), "--tls-cert", cert, "--tls-key", key,
                                "--serve-command", "/usr/bin/python3 " + stand_in_serve().string()},
                               work.path() / "manager.log");
  const std::string https = "https://127.0.0.1:" + std::to_string(port);
  auto trusting = client_trusting(cert);
  auto list = [&](net::HttpClient& client, const std::string& base) {
    net::HttpRequest request = net::HttpRequest::get(base + "/api/v1/ai-models");
    request.headers.set("x-access-key", admin);
    return client.send(std::move(request));
  };
  ASSERT_TRUE(wait_until([&] {
    auto response = list(*trusting, https);
    return response.ok() && response->status == 200;
  })) << read_text(work.path() / "manager.log");
  auto models = list(*trusting, https);
  ASSERT_TRUE(models.ok());
  EXPECT_NE(models->body.find("\"data\""), std::string::npos) << models->body;
  EXPECT_FALSE(list(*client_trusting(""), https).ok()) << "a certificate the client does not trust is refused";
  auto plain = list(*client_trusting(""), "http://127.0.0.1:" + std::to_string(port));
  EXPECT_TRUE(!plain.ok() || plain->status >= 400) << "plain HTTP on the TLS port is no API";
  ::kill(pid, SIGTERM);
  EXPECT_EQ(wait_for(pid), 0) << read_text(work.path() / "manager.log");
}

}  // namespace
}  // namespace airlock::testing
