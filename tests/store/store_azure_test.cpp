// The conformance suite on Azure Blob against Azurite (npm, Microsoft's emulator) with SharedKey,
// and what is particular to Azure: SAS tokens in the URI and in AZURE_STORAGE_SAS_TOKEN, a
// read-only SAS and a wrong key refused with the variable to fix, connection strings, parallel
// Put Block with equal-length ids, and host-pattern dispatch ahead of the generic https backend.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>

#include "cloud_store_servers.h"
#include "core/hash.h"
#include "store/azure_store.h"
#include "store/store_factory.h"
#include "store_conformance.h"
#include "store_servers.h"
#include "sync/pull.h"
#include "sync/push.h"
#include "testing.h"

namespace airlock::testing {
namespace {
namespace fs = std::filesystem;

constexpr const char* kContainer = "models";

std::string blob_uri(const std::string& prefix, const std::string& query = "") {
  return fmt::format("https://{}.blob.core.windows.net/{}/{}{}", kAzuriteAccount, kContainer, prefix,
                     query.empty() ? "" : "?" + query);
}

class AzureBackend final : public ConformanceBackend {
 public:
  AzureBackend() {
    isolate_cloud_environment();
    started_ = server_.start();
    if (!started_) return;
    auto s = make("", kAzuriteKey);
    auto* azure = dynamic_cast<store::AzureStore*>(s.get());
    Status created = azure ? azure->create_container() : Status(internal_error("not an AzureStore"));
    if (!created.ok()) {
      started_ = false;
      error_ = created.error().message();
    }
  }
  std::string name() const override { return "azure"; }
  std::unique_ptr<store::Store> open(const std::string& prefix) override { return make(prefix, kAzuriteKey); }
  std::unique_ptr<store::Store> open_with_wrong_credentials(const std::string& prefix) override {
    // A well-formed key of the right length that is not the account's.
    return make(prefix, "AAAAvdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==");
  }
  std::string credentials_hint() const override { return "AZURE_STORAGE_KEY"; }

  std::unique_ptr<store::Store> make(const std::string& prefix, const std::string& key, const std::string& query = "",
                                     const std::string& endpoint = "") {
    if (server_.port() == 0) return nullptr;
    if (!key.empty()) {
      ::setenv("AZURE_STORAGE_ACCOUNT", kAzuriteAccount, 1);
      ::setenv("AZURE_STORAGE_KEY", key.c_str(), 1);
    }
    store::StoreConfig config;
    config.s3.endpoint_url = endpoint.empty() ? server_.endpoint() : endpoint;
    auto opened = store::open_store(blob_uri(prefix, query), config);
    ::unsetenv("AZURE_STORAGE_ACCOUNT");
    ::unsetenv("AZURE_STORAGE_KEY");
    if (!opened.ok()) {
      ADD_FAILURE() << opened.error().message();
      return nullptr;
    }
    return std::move(opened).value();
  }
  Azurite& server() { return server_; }
  bool started() const { return started_; }
  const std::string& error() const { return error_; }

 private:
  Azurite server_;
  bool started_ = false;
  std::string error_;
};

AzureBackend& azure_backend() {
  static AzureBackend backend;
  return backend;
}

ConformanceBackend& azure_conformance() {
  AzureBackend& backend = azure_backend();
  if (!backend.started()) {
    ADD_FAILURE() << "Azurite did not start: " << backend.error() << backend.server().last_output();
  }
  return backend;
}

INSTANTIATE_TEST_SUITE_P(Azure, StoreConformance, ::testing::Values(BackendMaker{"azure", azure_conformance}),
                         [](const auto& param_info) { return param_info.param.name; });

TEST(AzureStore, SasTokenInTheUriAndInTheEnvironment) {
  auto& backend = azure_backend();
  ASSERT_TRUE(backend.started());
  const std::string sas = azurite_container_sas(kContainer, "racwdl");
  // KServe lets the SAS ride in the storage URI.
  auto in_uri = backend.make("sas/", "", sas);
  ASSERT_TRUE(in_uri);
  ASSERT_OK(in_uri->write_string("a.txt", "sas in the uri"));
  EXPECT_EQ(in_uri->display_uri().find("sig="), std::string::npos) << "the token is never shown";
  // What people see names the endpoint airlock talks to (--endpoint-url), not the URI's host.
  EXPECT_EQ(in_uri->display_uri(), backend.server().endpoint() + "/" + kContainer + "/sas/");
  ::setenv("AZURE_STORAGE_SAS_TOKEN", ("?" + sas).c_str(), 1);
  auto in_env = backend.make("sas/", "");
  ::unsetenv("AZURE_STORAGE_SAS_TOKEN");
  ASSERT_TRUE(in_env);
  auto text = in_env->read_to_string("a.txt", 100);
  ASSERT_TRUE(text.ok()) << text.error().message();
  EXPECT_EQ(*text, "sas in the uri");
  auto listed = in_env->list_all("");
  ASSERT_TRUE(listed.ok()) << listed.error().message();
  EXPECT_EQ(listed->size(), 1u);

  // A read-only SAS reads but may not write; the refusal names the token and never shows it.
  const std::string read_only = azurite_container_sas(kContainer, "rl");
  auto reader = backend.make("sas/", "", read_only);
  ASSERT_TRUE(reader);
  EXPECT_TRUE(reader->read_to_string("a.txt", 100).ok());
  Status refused = reader->write_string("b.txt", "no");
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.error().code() == ErrorCode::kPermissionDenied ||
              refused.error().code() == ErrorCode::kUnauthenticated)
      << refused.error().message();
  EXPECT_NE(refused.error().message().find("SAS"), std::string::npos) << refused.error().message();
  const std::string signature = read_only.substr(read_only.find("sig=") + 4);
  EXPECT_EQ(refused.error().message().find(signature), std::string::npos) << "the signature must never be shown";
}

TEST(AzureStore, ConnectionStringAndAWrongKey) {
  auto& backend = azure_backend();
  ASSERT_TRUE(backend.started());
  const std::string connection =
      fmt::format("DefaultEndpointsProtocol=http;AccountName={};AccountKey={};BlobEndpoint={};", kAzuriteAccount,
                  kAzuriteKey, backend.server().endpoint());
  ::setenv("AZURE_STORAGE_CONNECTION_STRING", connection.c_str(), 1);
  auto opened = store::open_store(blob_uri("conn/"), {});
  ::unsetenv("AZURE_STORAGE_CONNECTION_STRING");
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  ASSERT_OK((*opened)->write_string("c.txt", "connection string"));

  auto wrong = backend.open_with_wrong_credentials("conn/");
  ASSERT_TRUE(wrong);
  auto read = wrong->read_to_string("c.txt", 100);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code(), ErrorCode::kUnauthenticated) << read.error().message();
  EXPECT_NE(read.error().message().find("AZURE_STORAGE_KEY"), std::string::npos) << read.error().message();
  EXPECT_EQ(read.error().message().find("AAAAvdM02"), std::string::npos) << "the key must never be shown";
  // A key that is not base64 fails before any request, naming its variable.
  ::setenv("AZURE_STORAGE_ACCESS_KEY", "not base64!", 1);
  auto bad = store::open_store(blob_uri("conn/"), {});
  ::unsetenv("AZURE_STORAGE_ACCESS_KEY");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("AZURE_STORAGE_ACCESS_KEY"), std::string::npos) << bad.error().message();
  // A connection string for another account than the URI's.
  ::setenv("AZURE_STORAGE_CONNECTION_STRING", "AccountName=other;AccountKey=YWJj", 1);
  auto mismatch = store::open_store(blob_uri("conn/"), {});
  ::unsetenv("AZURE_STORAGE_CONNECTION_STRING");
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().message().find("other"), std::string::npos) << mismatch.error().message();
}

TEST(AzureStore, BlocksGoUpInParallelAndTheListCommitsThem) {
  auto& backend = azure_backend();
  ASSERT_TRUE(backend.started());
  FaultProxy proxy;
  ASSERT_TRUE(proxy.start("http://127.0.0.1:" + std::to_string(backend.server().port())));
  auto s = backend.make("blocks/", kAzuriteKey, "",
                        "http://127.0.0.1:" + std::to_string(proxy.port()) + "/" + kAzuriteAccount);
  ASSERT_TRUE(s);
  const std::string data = pattern_bytes(5 * 1024 * 1024 + 7, 44);
  // One block is reset on its way and sent again.
  ASSERT_TRUE(proxy.add_rule({{"fault", "reset"}, {"method", "PUT"}, {"path", "comp=block&"}, {"times", 1}}));
  store::WriteOptions options;
  options.multipart_threshold = 1024 * 1024;
  options.part_size = 1024 * 1024;
  options.parallel = 4;
  options.sha256 = sha256_hex(data);
  Status written = s->write("model.bin", store::string_source(data), options);
  ASSERT_TRUE(written.ok()) << written.error().message();
  Json stats = proxy.stats();
  int blocks = 0;
  int lists = 0;
  for (const auto& entry : stats["log"]) {
    const std::string path = entry[1].get<std::string>();
    if (path.find("comp=block&") != std::string::npos && entry[2] == 201) ++blocks;
    if (path.find("comp=blocklist") != std::string::npos && entry[2] == 201) ++lists;
  }
  EXPECT_EQ(blocks, 6) << "5 MiB + 7 bytes in 1 MiB blocks";
  EXPECT_EQ(lists, 1);
  EXPECT_EQ(stats["injected"]["reset"], 1);
  auto info = s->stat("model.bin");
  ASSERT_TRUE(info.ok() && info->has_value());
  EXPECT_EQ((*info)->size, data.size());
  EXPECT_EQ((*info)->sha256, sha256_hex(data));
  auto back = s->read_to_string("model.bin", 1 << 30);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == data);
  // A whole tree through faults: a 503 with Retry-After and a reset going up; a body cut short
  // and a flipped byte coming down (caught by the sha256 and fetched again).
  proxy.reset();
  TempDir tmp;
  fs::create_directories(tmp / "tree");
  const std::string big = pattern_bytes(3 * 1024 * 1024, 8);
  write_text(tmp / "tree" / "big.bin", big);
  write_text(tmp / "tree" / "a.txt", "a");
  ASSERT_TRUE(proxy.add_rule({{"fault", "status"},
                              {"status", 503},
                              {"code", "ServerBusy"},
                              {"retry_after", "1"},
                              {"method", "PUT"},
                              {"path", "a.txt"},
                              {"times", 1}}));
  ASSERT_TRUE(proxy.add_rule({{"fault", "reset"}, {"method", "PUT"}, {"path", "index.json"}, {"times", 1}}));
  sync::PushOptions push;
  push.progress.style = ProgressStyle::kQuiet;
  auto pushed = sync::push(tmp / "tree", *s, push);
  ASSERT_OK(pushed);
  ASSERT_TRUE(proxy.add_rule({{"fault", "truncate"}, {"method", "GET"}, {"path", "big.bin"}, {"times", 2}}));
  ASSERT_TRUE(proxy.add_rule({{"fault", "flip"}, {"method", "GET"}, {"path", "a.txt"}, {"times", 1}}));
  sync::PullOptions pull;
  pull.progress.style = ProgressStyle::kQuiet;
  pull.part_size = 1024 * 1024;
  auto pulled = sync::pull(*s, tmp / "back", pull);
  ASSERT_OK(pulled);
  EXPECT_TRUE(pulled->verified);
  EXPECT_EQ(pulled->refetched_corrupt, 1u);
  EXPECT_TRUE(read_text(tmp / "back" / "big.bin") == big);
  Json injected = proxy.stats()["injected"];
  EXPECT_EQ(injected["status"], 1);
  EXPECT_EQ(injected["truncate"], 2);
  // Block ids of one upload have one length, as the service requires.
  EXPECT_EQ(store::azure_block_id("0a1b2c3d", 0).size(), store::azure_block_id("0a1b2c3d", 49'999).size());
}

TEST(AzureStore, ServicePrincipalAndWorkloadIdentityTokens) {
  isolate_cloud_environment();
  TempDir tmp;
  ASSERT_TRUE(make_tls_certificate(tmp.path()));
  // Azurite checks bearer tokens (issuer, audience, lifetime) only over HTTPS.
  Azurite server;
  ASSERT_TRUE(
      server.start({"--cert", (tmp / "cert.pem").string(), "--key", (tmp / "key.pem").string(), "--oauth", "basic"}))
      << server.last_output();
  ServerProcess entra;
  const std::string tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
  write_text(tmp / "federated-token", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.sig\n");
  ASSERT_TRUE(entra.start({test_python(), (project_root() / "tests" / "servers" / "entra_token_server.py").string(),
                           "--tenant", tenant, "--client", "app-1:s3cret-value-1", "--assertion",
                           "app-2:eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.sig"}))
      << entra.last_output();
  const std::string endpoint = "https://127.0.0.1:" + std::to_string(server.port()) + "/" + kAzuriteAccount;
  store::StoreConfig config;
  config.s3.endpoint_url = endpoint;
  config.ca_bundle = (tmp / "cert.pem").string();
  ::setenv("AZURE_AUTHORITY_HOST", ("http://127.0.0.1:" + std::to_string(entra.port())).c_str(), 1);
  ::setenv("AZURE_TENANT_ID", tenant.c_str(), 1);
  // KServe's spellings, copied to AZURE_* by its webhook, are read as well.
  ::setenv("AZ_CLIENT_ID", "app-1", 1);
  ::setenv("AZ_CLIENT_SECRET", "s3cret-value-1", 1);
  auto principal = store::open_store(blob_uri("oauth/"), config);
  ASSERT_TRUE(principal.ok()) << principal.error().message();
  ASSERT_OK(dynamic_cast<store::AzureStore&>(**principal).create_container());
  ASSERT_OK((*principal)->write_string("a.txt", "with a bearer token"));
  auto text = (*principal)->read_to_string("a.txt", 100);
  ASSERT_OK(text);
  EXPECT_EQ(*text, "with a bearer token");

  // AKS workload identity: the projected token file is exchanged instead of a secret.
  ::unsetenv("AZ_CLIENT_SECRET");
  ::setenv("AZ_CLIENT_ID", "app-2", 1);
  ::setenv("AZURE_FEDERATED_TOKEN_FILE", (tmp / "federated-token").c_str(), 1);
  auto workload = store::open_store(blob_uri("oauth/"), config);
  ASSERT_TRUE(workload.ok()) << workload.error().message();
  auto listed = (*workload)->list_all("");
  ASSERT_OK(listed);
  EXPECT_EQ(listed->size(), 1u);

  // A wrong secret: the token endpoint's refusal, naming the variables, never the secret.
  ::unsetenv("AZURE_FEDERATED_TOKEN_FILE");
  ::setenv("AZ_CLIENT_ID", "app-1", 1);
  ::setenv("AZ_CLIENT_SECRET", "wrong-secret-value", 1);
  auto wrong = store::open_store(blob_uri("oauth/"), config);
  isolate_cloud_environment();
  ASSERT_TRUE(wrong.ok()) << wrong.error().message();
  Status refused = (*wrong)->write_string("b.txt", "no");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnauthenticated) << refused.error().message();
  EXPECT_NE(refused.error().message().find("AADSTS7000215"), std::string::npos) << refused.error().message();
  EXPECT_NE(refused.error().message().find("AZURE_CLIENT_SECRET"), std::string::npos) << refused.error().message();
  EXPECT_EQ(refused.error().message().find("wrong-secret-value"), std::string::npos) << refused.error().message();
}

TEST(AzureStore, HostPatternsGoToAzureNotToPlainHttps) {
  isolate_cloud_environment();
  for (const std::string uri :
       {"https://acct.blob.core.windows.net/c0ntainer/p", "https://acct.z12.blob.storage.azure.net/cont/p",
        "https://acct.blob.core.chinacloudapi.cn/cont/p"}) {
    auto parsed = parse_uri(uri);
    ASSERT_TRUE(parsed.ok());
    EXPECT_TRUE(store::is_azure_blob_uri(*parsed)) << uri;
  }
  EXPECT_FALSE(store::is_azure_blob_uri(*parse_uri("https://models.example.com/blob/core/x")));
  store::StoreConfig config;
  config.s3.no_sign_request = true;
  auto opened = store::open_store("https://acct.blob.core.windows.net/models/llama", config);
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  EXPECT_NE(dynamic_cast<store::AzureStore*>(opened->get()), nullptr);
  EXPECT_EQ((*opened)->display_uri(), "https://acct.blob.core.windows.net/models/llama/");
  auto no_container = store::open_store("https://acct.blob.core.windows.net/", config);
  ASSERT_FALSE(no_container.ok());
  EXPECT_NE(no_container.error().message().find("container"), std::string::npos);
}

}  // namespace
}  // namespace airlock::testing

namespace airlock::testing {
namespace {

// Azure Blob as a person runs it: push, ls, verify and pull with a connection string naming
// Azurite's endpoint; a wrong key exits 3 naming the variable.
TEST(AzureCli, PushLsVerifyPull) {
  auto& backend = azure_backend();
  ASSERT_TRUE(backend.started());
  TempDir tmp;
  fs::create_directories(tmp / "cache" / "blobs");
  fs::create_directories(tmp / "cache" / "snapshots" / "r");
  write_text(tmp / "cache" / "blobs" / "w", pattern_bytes(700 * 1024, 9));
  fs::create_symlink("../../blobs/w", tmp / "cache" / "snapshots" / "r" / "model.safetensors");
  const std::string connection =
      fmt::format("DefaultEndpointsProtocol=http;AccountName={};AccountKey={};BlobEndpoint={}", kAzuriteAccount,
                  kAzuriteKey, backend.server().endpoint());
  std::map<std::string, std::string> env = {{"AZURE_STORAGE_CONNECTION_STRING", connection},
                                            {"AIRLOCK_LOG_LEVEL", "warn"}};
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), airlock_binary().string());
    return run_command(args, env);
  };
  const std::string uri = blob_uri("cli/llama");
  auto pushed = run({"push", (tmp / "cache").string(), uri, "--json"});
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  // The summary names the endpoint of the connection string's BlobEndpoint, where the bytes went.
  auto summary = parse_json(pushed.out, "push summary");
  ASSERT_TRUE(summary.ok()) << pushed.out;
  EXPECT_EQ((*summary)["destination"], backend.server().endpoint() + "/" + kContainer + "/cli/llama/") << pushed.out;
  auto listed = run({"ls", uri, "-r"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("blobs/w"), std::string::npos) << listed.out;
  auto verified = run({"verify", uri});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  auto pulled = run({"pull", uri, (tmp / "back").string()});
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  EXPECT_TRUE(fs::is_symlink(tmp / "back" / "snapshots" / "r" / "model.safetensors"));
  EXPECT_TRUE(read_text(tmp / "back" / "blobs" / "w") == pattern_bytes(700 * 1024, 9));
  env = {{"AZURE_STORAGE_ACCOUNT", kAzuriteAccount},
         {"AZURE_STORAGE_KEY",
          "AAAAvdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="}};
  auto refused = run({"pull", uri, (tmp / "none").string(), "--endpoint-url", backend.server().endpoint()});
  EXPECT_EQ(refused.exit_code, 3) << refused.err;
  EXPECT_NE(refused.err.find("AZURE_STORAGE_KEY"), std::string::npos) << refused.err;
  EXPECT_EQ(refused.err.find("AAAAvdM02"), std::string::npos) << "the key must never be shown";
}

}  // namespace
}  // namespace airlock::testing
