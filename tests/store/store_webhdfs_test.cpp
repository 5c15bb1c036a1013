// The conformance suite on WebHDFS (tests/servers/webhdfs_server.py: a namenode that redirects
// to a separate datanode, delegation tokens, LISTSTATUS_BATCH pages of two entries) and on an
// HttpFS gateway without LISTSTATUS_BATCH, and what is particular to HDFS: the two-step CREATE
// and redirected OPEN, hdfs:// mapped to the HTTP port, permissions naming HADOOP_USER_NAME,
// Kerberos-only clusters, unreachable datanodes, faults on either node, and swebhdfs:// over TLS.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <thread>

#include "cloud_store_servers.h"
#include "core/hash.h"
#include "store/store_factory.h"
#include "store/webhdfs_store.h"
#include "store_conformance.h"
#include "store_servers.h"
#include "sync/pull.h"
#include "sync/push.h"
#include "testing.h"

namespace airlock::testing {
namespace {
namespace fs = std::filesystem;

constexpr const char* kToken = "HAAEYWlyAAAAAIoBjEXAMPLEtoken";

class WebHdfsBackend final : public ConformanceBackend {
 public:
  explicit WebHdfsBackend(bool httpfs) : httpfs_(httpfs) {
    isolate_cloud_environment();
    std::vector<std::string> args = {"--tokens", kToken};
    if (httpfs_) {
      args.insert(args.end(), {"--httpfs", "--no-batch"});
    } else {
      args.insert(args.end(), {"--ls-limit", "2"});
    }
    started_ = server_.start(args);
  }
  std::string name() const override { return httpfs_ ? "httpfs" : "webhdfs"; }
  std::unique_ptr<store::Store> open(const std::string& prefix) override { return make(prefix, kToken); }
  std::unique_ptr<store::Store> open_with_wrong_credentials(const std::string& prefix) override {
    return make(prefix, "HAAEYWlyAAAAAIoBjWRONGtoken");
  }
  std::string credentials_hint() const override { return "HADOOP_TOKEN"; }
  WebHdfsServer& server() { return server_; }
  bool started() const { return started_; }

 private:
  std::unique_ptr<store::Store> make(const std::string& prefix, const std::string& token) {
    if (!started_) return nullptr;
    store::StoreConfig config;
    config.webhdfs.delegation_token = token;
    config.webhdfs.httpfs = httpfs_;
    auto opened =
        store::open_store(fmt::format("webhdfs://127.0.0.1:{}/user/airlock/{}", server_.port(), prefix), config);
    if (!opened.ok()) {
      ADD_FAILURE() << opened.error().message();
      return nullptr;
    }
    return std::move(opened).value();
  }

  bool httpfs_;
  WebHdfsServer server_;
  bool started_ = false;
};

ConformanceBackend& webhdfs_conformance() {
  static WebHdfsBackend backend(false);
  if (!backend.started()) ADD_FAILURE() << "the WebHDFS server did not start: " << backend.server().last_output();
  return backend;
}

int op_count(const Json& stats, const std::string& op) {
  if (!stats.contains("ops") || !stats["ops"].contains(op)) return 0;
  return stats["ops"][op].get<int>();
}

INSTANTIATE_TEST_SUITE_P(WebHdfs, StoreConformance, ::testing::Values(BackendMaker{"webhdfs", webhdfs_conformance}),
                         [](const auto& param_info) { return param_info.param.name; });

std::unique_ptr<store::Store> open_or_fail(const std::string& uri, const store::StoreConfig& config = {}) {
  auto opened = store::open_store(uri, config);
  if (!opened.ok()) {
    ADD_FAILURE() << uri << ": " << opened.error().message();
    return nullptr;
  }
  return std::move(opened).value();
}

TEST(WebHdfsStore, TwoStepCreateAndRedirectedOpenWithOffsets) {
  isolate_cloud_environment();
  WebHdfsServer server;
  ASSERT_TRUE(server.start({})) << server.last_output();
  ::setenv("HADOOP_USER_NAME", "airlock", 1);
  auto s = open_or_fail(fmt::format("webhdfs://127.0.0.1:{}/data/models", server.port()));
  ::unsetenv("HADOOP_USER_NAME");
  ASSERT_TRUE(s);
  const std::string data = pattern_bytes(3 * 1024 * 1024 + 11, 21);
  ASSERT_OK(s->write_string("m/weights.bin", data));
  Json stats = server.stats();
  EXPECT_EQ(op_count(stats, "CREATE"), 1) << dump_json(stats);
  EXPECT_EQ(stats["datanode_writes"], 1) << "the bytes go to the datanode, not the namenode";
  EXPECT_GE(op_count(stats, "MKDIRS"), 1);
  EXPECT_EQ(op_count(stats, "RENAME"), 1) << "written under a temporary name, then renamed";

  store::ReadOptions ranged;
  ranged.range = store::ByteRange{1000, 4000};
  auto part = s->read_to_string("m/weights.bin", 1 << 30);
  ASSERT_TRUE(part.ok()) << part.error().message();
  EXPECT_TRUE(*part == data);
  std::string middle;
  ASSERT_TRUE(s->read("m/weights.bin", ranged, [&](std::string_view b) {
                 middle.append(b);
                 return ok_status();
               }).ok());
  EXPECT_EQ(middle, data.substr(1000, 4000));
  stats = server.stats();
  EXPECT_GE(stats["datanode_reads"].get<int>(), 2);
  EXPECT_EQ(stats["range_headers"], 0) << "WebHDFS reads use offset/length, never Range";

  // The file as HDFS sees it: owned by HADOOP_USER_NAME, at the path under the URI.
  Json status = fetch_json(server.url() + "/webhdfs/v1/data/models/m/weights.bin?op=GETFILESTATUS&user.name=x");
  EXPECT_EQ(status["FileStatus"]["owner"], "airlock") << dump_json(status);
  EXPECT_EQ(status["FileStatus"]["length"], data.size());
  auto listed = s->list_all("");
  ASSERT_TRUE(listed.ok()) << listed.error().message();
  ASSERT_EQ(listed->size(), 1u) << "no temporary file is left";
  EXPECT_EQ((*listed)[0].key, "m/weights.bin");
}

TEST(WebHdfsStore, HttpFsGatewayTakesDataInOneStepAndListsWithoutBatches) {
  // An HttpFS gateway without LISTSTATUS_BATCH (older gateways): CREATE with data=true, plain
  // LISTSTATUS, and the whole push/pull round trip with symlinks through the index.
  WebHdfsBackend backend(true);
  ASSERT_TRUE(backend.started()) << backend.server().last_output();
  auto s = backend.open("gateway/");
  ASSERT_TRUE(s);
  TempDir tmp;
  fs::create_directories(tmp / "tree" / "blobs");
  fs::create_directories(tmp / "tree" / "snapshots" / "r");
  write_text(tmp / "tree" / "blobs" / "w", pattern_bytes(2 * 1024 * 1024 + 1, 2));
  fs::create_symlink("../../blobs/w", tmp / "tree" / "snapshots" / "r" / "model.bin");
  sync::PushOptions push;
  push.progress.style = ProgressStyle::kQuiet;
  auto pushed = sync::push(tmp / "tree", *s, push);
  ASSERT_OK(pushed);
  sync::PullOptions pull;
  pull.progress.style = ProgressStyle::kQuiet;
  auto pulled = sync::pull(*s, tmp / "back", pull);
  ASSERT_OK(pulled);
  EXPECT_TRUE(pulled->verified);
  EXPECT_TRUE(fs::is_symlink(tmp / "back" / "snapshots" / "r" / "model.bin"));
  EXPECT_TRUE(read_text(tmp / "back" / "snapshots" / "r" / "model.bin") == pattern_bytes(2 * 1024 * 1024 + 1, 2));
  Json stats = backend.server().stats();
  EXPECT_EQ(stats["redirects"], 0) << "a gateway never redirects";
  EXPECT_EQ(stats["datanode_writes"], 0);
  EXPECT_GE(op_count(stats, "LISTSTATUS"), 1) << "the fallback when LISTSTATUS_BATCH is refused";
}

TEST(WebHdfsStore, HdfsSchemeReachesTheHttpPort) {
  isolate_cloud_environment();
  WebHdfsServer server;
  ASSERT_TRUE(server.start({})) << server.last_output();
  // The URI names the RPC port; the HTTP port comes from --webhdfs-port...
  store::StoreConfig config;
  config.webhdfs.port = server.port();
  auto by_flag = open_or_fail("hdfs://127.0.0.1:8020/warehouse/m", config);
  ASSERT_TRUE(by_flag);
  ASSERT_OK(by_flag->write_string("a.txt", "through hdfs://"));
  EXPECT_EQ(by_flag->display_uri(), "hdfs://127.0.0.1:8020/warehouse/m/");
  // ... or from AIRLOCK_WEBHDFS_PORT.
  ::setenv("AIRLOCK_WEBHDFS_PORT", std::to_string(server.port()).c_str(), 1);
  auto by_env = open_or_fail("hdfs://127.0.0.1:9000/warehouse/m");
  ::unsetenv("AIRLOCK_WEBHDFS_PORT");
  ASSERT_TRUE(by_env);
  auto text = by_env->read_to_string("a.txt", 100);
  ASSERT_TRUE(text.ok()) << text.error().message();
  EXPECT_EQ(*text, "through hdfs://");
  // Without either, 9870: here nothing listens there, and the error says where it went.
  auto defaulted = store::resolve_webhdfs_settings(*parse_uri("hdfs://nn.example:8020/x"), {});
  ASSERT_TRUE(defaulted.ok());
  EXPECT_EQ(defaulted->base_url, "http://nn.example:9870/webhdfs/v1");
  store::WebHdfsOptions httpfs;
  httpfs.httpfs = true;
  auto gateway = store::resolve_webhdfs_settings(*parse_uri("hdfs://nn.example:8020/x"), httpfs);
  ASSERT_TRUE(gateway.ok());
  EXPECT_EQ(gateway->base_url, "http://nn.example:14000/webhdfs/v1");
  auto secure = store::resolve_webhdfs_settings(*parse_uri("swebhdfs://nn.example/x"), {});
  ASSERT_TRUE(secure.ok());
  EXPECT_EQ(secure->base_url, "https://nn.example:9871/webhdfs/v1");
}

TEST(WebHdfsStore, PermissionErrorsNameHadoopUserName) {
  isolate_cloud_environment();
  WebHdfsServer server;
  ASSERT_TRUE(server.start({"--protected", "/secure"})) << server.last_output();
  ::setenv("HADOOP_USER_NAME", "intruder", 1);
  auto s = open_or_fail(fmt::format("webhdfs://127.0.0.1:{}/secure/models", server.port()));
  ::unsetenv("HADOOP_USER_NAME");
  ASSERT_TRUE(s);
  Status written = s->write_string("x.txt", "no");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code(), ErrorCode::kPermissionDenied) << written.error().message();
  EXPECT_NE(written.error().message().find("AccessControlException"), std::string::npos);
  EXPECT_NE(written.error().message().find("HADOOP_USER_NAME"), std::string::npos) << written.error().message();
  EXPECT_NE(written.error().message().find("intruder"), std::string::npos) << written.error().message();
}

TEST(WebHdfsStore, KerberosOnlyClusterSaysHowToAuthenticate) {
  isolate_cloud_environment();
  WebHdfsServer server;
  ASSERT_TRUE(server.start({"--kerberos"})) << server.last_output();
  // Without a ticket: the 401 Negotiate challenge is explained.
  auto plain = open_or_fail(fmt::format("webhdfs://127.0.0.1:{}/data", server.port()));
  ASSERT_TRUE(plain);
  auto listed = plain->list_all("");
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(listed.error().message().find("KERBEROS_KEYTAB"), std::string::npos) << listed.error().message();
  EXPECT_NE(listed.error().message().find("KRB5CCNAME"), std::string::npos) << listed.error().message();
  // With KRB5CCNAME, libcurl's GSS-API negotiation is attempted; an empty cache has no ticket.
  TempDir tmp;
  ::setenv("KRB5CCNAME", ("FILE:" + (tmp / "no-such-cache").string()).c_str(), 1);
  auto negotiated = open_or_fail(fmt::format("webhdfs://127.0.0.1:{}/data", server.port()));
  ::unsetenv("KRB5CCNAME");
  ASSERT_TRUE(negotiated);
  auto refused = negotiated->list_all("");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnauthenticated) << refused.error().message();
  EXPECT_NE(refused.error().message().find("klist"), std::string::npos) << refused.error().message();
  // A keytab needs its principal.
  ::setenv("KERBEROS_KEYTAB", (tmp / "airlock.keytab").c_str(), 1);
  auto half = store::open_store(fmt::format("webhdfs://127.0.0.1:{}/data", server.port()), {});
  ::unsetenv("KERBEROS_KEYTAB");
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.error().message().find("KERBEROS_PRINCIPAL"), std::string::npos) << half.error().message();
}

TEST(WebHdfsStore, UnreachableDatanodeSuggestsHttpFs) {
  isolate_cloud_environment();
  WebHdfsServer server;
  const int closed_port = free_port();
  ASSERT_TRUE(server.start({"--advertise-datanode", "127.0.0.1:" + std::to_string(closed_port)}))
      << server.last_output();
  store::StoreConfig config;
  auto client = net::HttpClient::create([] {
    net::HttpClientOptions options;
    options.max_retries = 1;
    options.base_backoff = std::chrono::milliseconds(10);
    return options;
  }());
  ASSERT_TRUE(client.ok());
  config.client = std::shared_ptr<net::HttpClient>(std::move(client).value());
  auto s = open_or_fail(fmt::format("webhdfs://127.0.0.1:{}/data", server.port()), config);
  ASSERT_TRUE(s);
  Status written = s->write_string("a.bin", "data");
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().message().find("--httpfs"), std::string::npos) << written.error().message();
  EXPECT_NE(written.error().message().find(std::to_string(closed_port)), std::string::npos)
      << written.error().message();
}

TEST(WebHdfsStore, FaultsOnTheNamenodeAndTheDatanode) {
  isolate_cloud_environment();
  // A fault proxy in front of each node: the namenode redirects to the datanode's proxy.
  const int datanode_port = free_port();
  FaultProxy datanode_proxy;
  ASSERT_TRUE(datanode_proxy.start("http://127.0.0.1:" + std::to_string(datanode_port)));
  WebHdfsServer server;
  ASSERT_TRUE(server.start({"--datanode-port", std::to_string(datanode_port), "--advertise-datanode",
                            "127.0.0.1:" + std::to_string(datanode_proxy.port())}))
      << server.last_output();
  FaultProxy namenode_proxy;
  ASSERT_TRUE(namenode_proxy.start(server.url()));
  store::StoreConfig config;
  config.webhdfs.port = namenode_proxy.port();
  ::setenv("HADOOP_USER_NAME", "airlock", 1);
  auto s = open_or_fail("hdfs://127.0.0.1:8020/faults", config);
  ::unsetenv("HADOOP_USER_NAME");
  ASSERT_TRUE(s);
  TempDir tmp;
  fs::create_directories(tmp / "tree");
  const std::string big = pattern_bytes(3 * 1024 * 1024, 31);
  write_text(tmp / "tree" / "big.bin", big);
  write_text(tmp / "tree" / "small.txt", "small");
  fs::create_symlink("big.bin", tmp / "tree" / "link.bin");
  ASSERT_TRUE(datanode_proxy.add_rule({{"fault", "reset"}, {"method", "PUT"}, {"path", "big.bin"}, {"times", 1}}));
  ASSERT_TRUE(namenode_proxy.add_rule(
      {{"fault", "status"}, {"status", 503}, {"method", "PUT"}, {"path", "op=CREATE"}, {"times", 1}}));
  sync::PushOptions push;
  push.progress.style = ProgressStyle::kQuiet;
  auto pushed = sync::push(tmp / "tree", *s, push);
  ASSERT_TRUE(pushed.ok()) << pushed.error().message();
  EXPECT_EQ(datanode_proxy.stats()["injected"]["reset"], 1);
  EXPECT_EQ(namenode_proxy.stats()["injected"]["status"], 1);

  // Reads: a datanode body cut short is continued from its offset; a 500 on the namenode retried.
  ASSERT_TRUE(datanode_proxy.add_rule(
      {{"fault", "truncate"}, {"method", "GET"}, {"path", "big.bin"}, {"after_bytes", 1000000}, {"times", 2}}));
  ASSERT_TRUE(namenode_proxy.add_rule(
      {{"fault", "status"}, {"status", 500}, {"method", "GET"}, {"path", "index.json"}, {"times", 1}}));
  sync::PullOptions pull;
  pull.progress.style = ProgressStyle::kQuiet;
  pull.part_size = 1024 * 1024;
  auto pulled = sync::pull(*s, tmp / "back", pull);
  ASSERT_TRUE(pulled.ok()) << pulled.error().message();
  EXPECT_TRUE(pulled->verified);
  EXPECT_EQ(datanode_proxy.stats()["injected"]["truncate"], 2);
  EXPECT_TRUE(read_text(tmp / "back" / "big.bin") == big);
  EXPECT_TRUE(fs::is_symlink(tmp / "back" / "link.bin"));
}

TEST(WebHdfsStore, SwebhdfsOverTls) {
  isolate_cloud_environment();
  TempDir tmp;
  ASSERT_TRUE(make_tls_certificate(tmp.path()));
  WebHdfsServer server;
  ASSERT_TRUE(server.start({"--cert", (tmp / "cert.pem").string(), "--key", (tmp / "key.pem").string()}))
      << server.last_output();
  store::StoreConfig config;
  config.ca_bundle = (tmp / "cert.pem").string();
  auto s = open_or_fail(fmt::format("swebhdfs://127.0.0.1:{}/tls", server.port()), config);
  ASSERT_TRUE(s);
  ASSERT_OK(s->write_string("a.txt", "over TLS"));
  auto back = s->read_to_string("a.txt", 100);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, "over TLS");
  // Without the CA the certificate is refused.
  auto untrusted = open_or_fail(fmt::format("swebhdfs://127.0.0.1:{}/tls", server.port()));
  ASSERT_TRUE(untrusted);
  auto refused = untrusted->read_to_string("a.txt", 100);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kNetwork) << refused.error().message();
}

}  // namespace
}  // namespace airlock::testing

namespace airlock::testing {
namespace {

int proxied(FaultProxy& proxy, const std::string& method, const std::string& path, int status) {
  Json stats = proxy.stats();
  int count = 0;
  if (!stats.contains("log")) return 0;
  for (const auto& entry : stats["log"]) {
    if (entry[0] == method && entry[1].get<std::string>().find(path) != std::string::npos && entry[2] == status) {
      ++count;
    }
  }
  return count;
}

std::map<std::string, std::string> hdfs_env() {
  std::map<std::string, std::string> env = s3_client_env();
  env["HADOOP_USER_NAME"] = "airlock";
  for (const char* name : {"HADOOP_TOKEN", "KRB5CCNAME", "KERBEROS_KEYTAB", "KERBEROS_PRINCIPAL", "AIRLOCK_HTTPFS",
                           "AIRLOCK_WEBHDFS_PORT"}) {
    env[name] = "\x01unset";
  }
  return env;
}

// `airlock push` and `pull` on hdfs:// as a person runs them, killed with -9 in the middle and
// run again: the rerun finishes without sending finished files again, and a pull continues.
TEST(WebHdfsCli, KillDuringPushAndPullThenRerunFinishes) {
  isolate_cloud_environment();
  const int datanode_port = free_port();
  FaultProxy datanode;
  ASSERT_TRUE(datanode.start("http://127.0.0.1:" + std::to_string(datanode_port)));
  WebHdfsServer server;
  ASSERT_TRUE(server.start({"--datanode-port", std::to_string(datanode_port), "--advertise-datanode",
                            "127.0.0.1:" + std::to_string(datanode.port())}))
      << server.last_output();
  const std::string uri = "hdfs://127.0.0.1:8020/killed/push";
  const std::string port = std::to_string(server.port());
  TempDir tmp;
  fs::create_directories(tmp / "tree");
  for (int i = 0; i < 12; ++i) {
    write_text(tmp / "tree" / ("f" + std::to_string(i) + ".bin"), pattern_bytes(256 * 1024, i));
  }
  write_text(tmp / "tree" / "weights.bin", pattern_bytes(6 * 1024 * 1024 + 5, 99));
  ASSERT_TRUE(datanode.add_rule({{"fault", "delay"}, {"method", "PUT"}, {"seconds", 0.4}, {"times", -1}}));
  pid_t pid = spawn_background(
      {airlock_binary().string(), "push", (tmp / "tree").string(), uri, "--jobs", "2", "--webhdfs-port", port},
      tmp / "push.log", hdfs_env());
  ASSERT_TRUE(wait_until([&] { return proxied(datanode, "PUT", "/killed/push/", 201) >= 4; }))
      << read_text(tmp / "push.log");
  ::kill(pid, SIGKILL);
  EXPECT_EQ(wait_for(pid), 128 + SIGKILL);
  EXPECT_EQ(proxied(datanode, "PUT", "index.json", 201), 0) << "the index is written last";
  datanode.reset();

  auto rerun = run_command(
      {airlock_binary().string(), "push", (tmp / "tree").string(), uri, "--webhdfs-port", port, "--json"}, hdfs_env());
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  auto summary = parse_json(rerun.out, "push summary");
  ASSERT_TRUE(summary.ok()) << rerun.out;
  EXPECT_GE((*summary)["unchanged_files"].get<int>(), 1) << "files renamed into place before the kill stay";
  EXPECT_EQ((*summary)["uploaded_files"].get<int>() + (*summary)["unchanged_files"].get<int>(), 13);
  // What the killed push left under temporary names is gone.
  auto listing = run_command({airlock_binary().string(), "ls", uri, "-r", "--webhdfs-port", port}, hdfs_env());
  ASSERT_EQ(listing.exit_code, 0) << listing.err;
  EXPECT_EQ(listing.out.find("airlock-upload"), std::string::npos) << listing.out;
  auto verified = run_command({airlock_binary().string(), "verify", uri, "--webhdfs-port", port}, hdfs_env());
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  Json status = fetch_json(server.url() + "/webhdfs/v1/killed/push?op=LISTSTATUS&user.name=x");
  EXPECT_EQ(dump_json(status).find("airlock-upload"), std::string::npos) << dump_json(status);

  // Pull, killed once the large file is partly there, then run again: it continues.
  ASSERT_TRUE(datanode.add_rule(
      {{"fault", "delay"}, {"method", "GET"}, {"path", "weights.bin"}, {"seconds", 0.25}, {"times", -1}}));
  pid = spawn_background({airlock_binary().string(), "pull", uri, (tmp / "dst").string(), "--part-size", "1MiB",
                          "--part-parallel", "2", "--webhdfs-port", port},
                         tmp / "pull.log", hdfs_env());
  const fs::path partial = tmp / "dst" / ".weights.bin.airlock-partial";
  ASSERT_TRUE(wait_until([&] {
    std::error_code ec;
    return fs::exists(partial, ec) && fs::file_size(partial, ec) >= 2 * 1024 * 1024;
  })) << read_text(tmp / "pull.log");
  ::kill(pid, SIGKILL);
  wait_for(pid);
  EXPECT_FALSE(fs::exists(tmp / "dst" / "weights.bin")) << "nothing unverified lands under its final name";
  const auto kept = fs::file_size(partial);
  datanode.reset();
  auto pulled = run_command(
      {airlock_binary().string(), "pull", uri, (tmp / "dst").string(), "--webhdfs-port", port, "--json"}, hdfs_env());
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  auto pull_summary = parse_json(pulled.out, "pull summary");
  ASSERT_TRUE(pull_summary.ok()) << pulled.out;
  EXPECT_EQ((*pull_summary)["resumed_files"], 1);
  EXPECT_LE((*pull_summary)["fetched_bytes"].get<std::uint64_t>(), 6 * 1024 * 1024 + 5 - kept + 2 + 12 * 256 * 1024)
      << "the rerun continues, not restarts";
  EXPECT_EQ((*pull_summary)["verified"], true);
  EXPECT_TRUE(read_text(tmp / "dst" / "weights.bin") == pattern_bytes(6 * 1024 * 1024 + 5, 99));
}

}  // namespace
}  // namespace airlock::testing
