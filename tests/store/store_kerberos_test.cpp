// Kerberos for webhdfs:// and hdfs://, with real tickets: a throwaway MIT KDC (krb5kdc, its own
// realm and database in a temporary directory), a user principal and an HTTP/127.0.0.1 service
// principal with their keytabs, and the WebHDFS test server verifying SPNEGO tokens with GSS-API
// (python3-gssapi) against the service keytab, handing out the hadoop.auth cookie and datanode
// delegation tokens as a secure Hadoop cluster does. airlock push, ls and pull run as a person
// runs them: with a ticket cache made by kinit (KRB5CCNAME), and with KERBEROS_KEYTAB +
// KERBEROS_PRINCIPAL as KServe names them (logging in again when the ticket expires during a
// push); wrong, stale and expired credentials say what to set.
// Skips only when the MIT Kerberos tools are not installed (Debian: krb5-kdc, krb5-admin-server,
// krb5-user).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "cloud_store_servers.h"
#include "store_servers.h"
#include "testing.h"

namespace airlock::testing {
namespace {
namespace fs = std::filesystem;

// A secure "cluster": the KDC, keytabs for alice and the namenode's HTTP principal, and the
// WebHDFS server that accepts only Kerberos.
class KerberizedCluster {
 public:
  bool start(const std::vector<std::string>& extra = {}) {
    if (!kdc.start(tmp / "kdc")) return fail("KDC: " + kdc.error());
    if (!kdc.add_principal("alice", alice_keytab())) return fail(kdc.error());
    if (!kdc.add_principal("HTTP/127.0.0.1", tmp / "http.keytab")) return fail(kdc.error());
    std::map<std::string, std::string> server_env = kdc.env();
    server_env["KRB5RCACHETYPE"] = "none";  // no replay cache files outside the test's directory
    std::vector<std::string> argv = {test_python(),
                                     (project_root() / "tests" / "servers" / "webhdfs_server.py").string(),
                                     "--kerberos", "--keytab", (tmp / "http.keytab").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (!server.start(argv, server_env)) return fail("WebHDFS server: " + server.last_output());
    return true;
  }
  fs::path alice_keytab() const { return tmp / "alice.keytab"; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server.port()); }
  Json stats() const { return fetch_json(url() + "/__webhdfs__/stats"); }
  // The environment of an airlock run: this realm's krb5.conf and no other credentials.
  std::map<std::string, std::string> env() const {
    std::map<std::string, std::string> e = s3_client_env();
    e["KRB5_CONFIG"] = kdc.krb5_conf().string();
    e["KRB5_KDC_PROFILE"] = "\x01unset";
    e["AIRLOCK_LOG_LEVEL"] = "warn";
    for (const char* name : {"HADOOP_TOKEN", "HADOOP_USER_NAME", "KRB5CCNAME", "KERBEROS_KEYTAB", "KERBEROS_PRINCIPAL",
                             "AIRLOCK_HTTPFS", "AIRLOCK_WEBHDFS_PORT", "HADOOP_PROXY_USER"}) {
      e[name] = "\x01unset";
    }
    return e;
  }
  CommandResult airlock(std::vector<std::string> args, const std::map<std::string, std::string>& extra) const {
    args.insert(args.begin(), airlock_binary().string());
    std::map<std::string, std::string> e = env();
    for (const auto& [name, value] : extra) e[name] = value;
    return run_command(args, e);
  }
  // GETFILESTATUS as curl --negotiate sees it (curl is the peer that judges what we stored).
  Json file_status(const std::string& path, const fs::path& cache) const {
    std::map<std::string, std::string> e = kdc.env();
    e["KRB5CCNAME"] = "FILE:" + cache.string();
    auto result =
        run_command({"curl", "-s", "--negotiate", "-u", ":", url() + "/webhdfs/v1" + path + "?op=GETFILESTATUS"}, e);
    auto parsed = parse_json(result.out, "GETFILESTATUS");
    return parsed.ok() ? *parsed : Json::object();
  }
  const std::string& error() const { return error_; }

  TempDir tmp;
  MitKdc kdc;
  ServerProcess server;

 private:
  bool fail(std::string why) {
    error_ = std::move(why);
    return false;
  }
  std::string error_;
};

#define SKIP_WITHOUT_KERBEROS()                                                                                  \
  do {                                                                                                           \
    if (std::string missing = MitKdc::missing_tools(); !missing.empty()) {                                       \
      GTEST_SKIP() << "MIT Kerberos tools not installed (" << missing                                            \
                   << "); Debian: apt-get install krb5-kdc krb5-admin-server krb5-user (scripts/setup does it)"; \
    }                                                                                                            \
  } while (0)

// A small model tree: a blob, a symlink to it, and a config.
void make_tree(const fs::path& root) {
  fs::create_directories(root / "blobs");
  fs::create_directories(root / "snapshots" / "r");
  write_text(root / "blobs" / "w", pattern_bytes(1024 * 1024 + 7, 5));
  write_text(root / "snapshots" / "r" / "config.json", R"({"model_type": "bert"})");
  fs::create_symlink("../../blobs/w", root / "snapshots" / "r" / "model.safetensors");
}

void expect_tree(const fs::path& root) {
  EXPECT_TRUE(read_text(root / "blobs" / "w") == pattern_bytes(1024 * 1024 + 7, 5));
  EXPECT_EQ(read_text(root / "snapshots" / "r" / "config.json"), R"({"model_type": "bert"})");
  ASSERT_TRUE(fs::is_symlink(root / "snapshots" / "r" / "model.safetensors"));
  EXPECT_EQ(fs::read_symlink(root / "snapshots" / "r" / "model.safetensors").string(), "../../blobs/w");
}

int stat_of(const Json& stats, const char* name) {
  return stats.contains(name) && stats[name].is_number() ? stats[name].get<int>() : -1;
}

// What must never reach a terminal: the hadoop.auth cookie and SPNEGO tokens.
void expect_no_secrets(const CommandResult& result) {
  for (const std::string& text : {result.out, result.err}) {
    EXPECT_EQ(text.find("t=kerberos"), std::string::npos) << "the hadoop.auth cookie was shown:\n" << text;
    EXPECT_EQ(text.find("Negotiate YII"), std::string::npos) << "a SPNEGO token was shown:\n" << text;
  }
}

TEST(WebHdfsKerberos, TicketCacheMadeByKinit) {
  SKIP_WITHOUT_KERBEROS();
  KerberizedCluster cluster;
  ASSERT_TRUE(cluster.start()) << cluster.error();
  const fs::path cache = cluster.tmp / "alice.ccache";
  ASSERT_TRUE(cluster.kdc.kinit("alice", cluster.alice_keytab(), cache)) << cluster.kdc.error();
  const std::map<std::string, std::string> with_ticket = {{"KRB5CCNAME", "FILE:" + cache.string()}};
  const std::string uri = fmt::format("webhdfs://127.0.0.1:{}/user/alice/bert", cluster.server.port());
  make_tree(cluster.tmp / "tree");

  auto pushed = cluster.airlock({"push", (cluster.tmp / "tree").string(), uri, "--json"}, with_ticket);
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  Json stats = cluster.stats();
  EXPECT_GE(stat_of(stats, "spnego"), 1) << dump_json(stats);
  EXPECT_EQ(stat_of(stats, "spnego_failures"), 0) << dump_json(stats);
  EXPECT_GT(stat_of(stats, "cookie_auth"), stat_of(stats, "spnego"))
      << "the hadoop.auth cookie is replayed instead of negotiating every request: " << dump_json(stats);
  EXPECT_LE(stat_of(stats, "spnego"), 8) << "at most the requests in flight before the first cookie came back";
  EXPECT_TRUE(stats["kerberos_users"].contains("alice")) << dump_json(stats);
  EXPECT_GE(stat_of(stats, "datanode_writes"), 3) << "the bytes went to the datanode with a delegation token";
  // HDFS sees the files as alice's: the identity came from the ticket, not from user.name.
  Json status = cluster.file_status("/user/alice/bert/blobs/w", cache);
  EXPECT_EQ(status["FileStatus"]["owner"], "alice") << dump_json(status);
  EXPECT_EQ(status["FileStatus"]["length"], 1024 * 1024 + 7) << dump_json(status);

  auto listed =
      cluster.airlock({"ls", uri, "-r"}, {{"KRB5CCNAME", "FILE:" + cache.string()}, {"AIRLOCK_LOG_LEVEL", "debug"}});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("blobs/w"), std::string::npos) << listed.out;
  expect_no_secrets(listed);

  auto pulled = cluster.airlock({"pull", uri, (cluster.tmp / "back").string()}, with_ticket);
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  expect_tree(cluster.tmp / "back");
  EXPECT_GE(stat_of(cluster.stats(), "datanode_reads"), 1);
}

TEST(WebHdfsKerberos, KeytabAndPrincipalAsKServeNamesThem) {
  SKIP_WITHOUT_KERBEROS();
  KerberizedCluster cluster;
  // Cookies that expire at once: every replayed cookie is refused and the request negotiates anew.
  ASSERT_TRUE(cluster.start({"--cookie-lifetime", "0"})) << cluster.error();
  // A person's own cache must stay untouched: airlock logs in from the keytab into a private one.
  const fs::path own_cache = cluster.tmp / "own.ccache";
  const std::map<std::string, std::string> keytab_env = {{"KERBEROS_KEYTAB", cluster.alice_keytab().string()},
                                                         {"KERBEROS_PRINCIPAL", "alice"},
                                                         {"KRB5CCNAME", "FILE:" + own_cache.string()},
                                                         {"TMPDIR", cluster.tmp.path().string()}};
  // hdfs:// this time: the RPC port in the URI, the HTTP port from --webhdfs-port.
  const std::string uri = "hdfs://127.0.0.1:8020/user/alice/keytab";
  const std::string port = std::to_string(cluster.server.port());
  make_tree(cluster.tmp / "tree");
  auto pushed = cluster.airlock({"push", (cluster.tmp / "tree").string(), uri, "--webhdfs-port", port}, keytab_env);
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  expect_no_secrets(pushed);
  auto listed = cluster.airlock({"ls", uri, "-r", "--webhdfs-port", port}, keytab_env);
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("snapshots/r/config.json"), std::string::npos) << listed.out;
  auto pulled = cluster.airlock({"pull", uri, (cluster.tmp / "back").string(), "--webhdfs-port", port}, keytab_env);
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  expect_tree(cluster.tmp / "back");
  Json stats = cluster.stats();
  EXPECT_TRUE(stats["kerberos_users"].contains("alice")) << dump_json(stats);
  EXPECT_GE(stat_of(stats, "cookie_rejected"), 1) << dump_json(stats);
  EXPECT_EQ(stat_of(stats, "cookie_auth"), 0) << dump_json(stats);
  EXPECT_EQ(stat_of(stats, "spnego_failures"), 0) << dump_json(stats);
  EXPECT_FALSE(fs::exists(own_cache)) << "KRB5CCNAME's cache is left alone when a keytab is given";
  // The private caches are removed when each run ends.
  for (const auto& entry : fs::directory_iterator(cluster.tmp.path())) {
    EXPECT_EQ(entry.path().filename().string().find("airlock-krb5-"), std::string::npos) << entry.path();
  }
}

TEST(WebHdfsKerberos, KeytabLoginIsRenewedWhenItsTicketExpiresDuringAPush) {
  SKIP_WITHOUT_KERBEROS();
  KerberizedCluster cluster;
  // Every request negotiates (cookies expire at once), so each one needs a valid ticket.
  ASSERT_TRUE(cluster.start({"--cookie-lifetime", "0"})) << cluster.error();
  const fs::path keytab = cluster.tmp / "carol.keytab";
  ASSERT_TRUE(cluster.kdc.add_principal("carol", keytab)) << cluster.kdc.error();
  ASSERT_TRUE(cluster.kdc.set_max_life("carol", "2 seconds")) << cluster.kdc.error();
  // A slow namenode: the push outlives carol's 2-second tickets.
  FaultProxy namenode;
  ASSERT_TRUE(namenode.start(cluster.url()));
  ASSERT_TRUE(namenode.add_rule({{"fault", "delay"}, {"path", "op="}, {"seconds", 0.15}, {"times", -1}}));
  fs::create_directories(cluster.tmp / "tree");
  for (int i = 0; i < 2; ++i) write_text(cluster.tmp / "tree" / fmt::format("f{}.bin", i), pattern_bytes(1000, i));
  auto pushed = cluster.airlock({"push", (cluster.tmp / "tree").string(), "hdfs://127.0.0.1:8020/user/carol/m",
                                 "--webhdfs-port", std::to_string(namenode.port()), "--jobs", "1"},
                                {{"KERBEROS_KEYTAB", keytab.string()},
                                 {"KERBEROS_PRINCIPAL", "carol"},
                                 {"TMPDIR", cluster.tmp.path().string()},
                                 {"AIRLOCK_LOG_LEVEL", "info"}});
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  EXPECT_NE(pushed.err.find("logged in again from KERBEROS_KEYTAB"), std::string::npos) << pushed.err;
  Json stats = cluster.stats();
  EXPECT_TRUE(stats["kerberos_users"].contains("carol")) << dump_json(stats);
  EXPECT_GE(stat_of(stats, "challenges"), 1) << "a request went without a ticket once: " << dump_json(stats);
}

TEST(WebHdfsKerberos, WrongStaleAndExpiredCredentialsSayWhatToSet) {
  SKIP_WITHOUT_KERBEROS();
  KerberizedCluster cluster;
  ASSERT_TRUE(cluster.start()) << cluster.error();
  const std::string uri = fmt::format("webhdfs://127.0.0.1:{}/user/alice", cluster.server.port());

  // No credentials at all: the Negotiate challenge is explained.
  auto bare = cluster.airlock({"ls", uri}, {});
  EXPECT_EQ(bare.exit_code, 3) << bare.err;
  EXPECT_NE(bare.err.find("KERBEROS_KEYTAB"), std::string::npos) << bare.err;
  EXPECT_NE(bare.err.find("kinit"), std::string::npos) << bare.err;

  // An expired ticket (1 s lifetime, clock skew 1 s): what to run, and which cache it looked in.
  const fs::path short_cache = cluster.tmp / "short.ccache";
  ASSERT_TRUE(cluster.kdc.kinit("alice", cluster.alice_keytab(), short_cache, "1s")) << cluster.kdc.error();
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  auto expired = cluster.airlock({"ls", uri}, {{"KRB5CCNAME", "FILE:" + short_cache.string()}});
  EXPECT_EQ(expired.exit_code, 3) << expired.err;
  EXPECT_NE(expired.err.find("expired"), std::string::npos) << expired.err;
  EXPECT_NE(expired.err.find("KRB5CCNAME"), std::string::npos) << expired.err;
  EXPECT_NE(expired.err.find(short_cache.string()), std::string::npos) << expired.err;
  EXPECT_NE(expired.err.find("kinit"), std::string::npos) << expired.err;
  expect_no_secrets(expired);

  // A keytab whose keys were changed on the KDC since (a rotated principal): kinit's own reason,
  // and the two variables to check.
  const fs::path bob_keytab = cluster.tmp / "bob.keytab";
  ASSERT_TRUE(cluster.kdc.add_principal("bob", bob_keytab)) << cluster.kdc.error();
  ASSERT_TRUE(cluster.kdc.change_key("bob")) << cluster.kdc.error();
  auto stale = cluster.airlock({"ls", uri}, {{"KERBEROS_KEYTAB", bob_keytab.string()}, {"KERBEROS_PRINCIPAL", "bob"}});
  EXPECT_EQ(stale.exit_code, 3) << stale.err;
  EXPECT_NE(stale.err.find("KERBEROS_KEYTAB"), std::string::npos) << stale.err;
  EXPECT_NE(stale.err.find("KERBEROS_PRINCIPAL"), std::string::npos) << stale.err;
  EXPECT_NE(stale.err.find("kinit"), std::string::npos) << stale.err;

  // A keytab path that is not there.
  auto missing = cluster.airlock(
      {"ls", uri}, {{"KERBEROS_KEYTAB", (cluster.tmp / "nope.keytab").string()}, {"KERBEROS_PRINCIPAL", "alice"}});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_NE(missing.err.find("KERBEROS_KEYTAB"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("nope.keytab"), std::string::npos) << missing.err;

  // A good ticket, but the namenode named by a host the realm has no HTTP principal for
  // (libcurl asks for HTTP/localhost): refused, and the message says where to look.
  const fs::path cache = cluster.tmp / "alice.ccache";
  ASSERT_TRUE(cluster.kdc.kinit("alice", cluster.alice_keytab(), cache)) << cluster.kdc.error();
  auto other_host = cluster.airlock({"ls", fmt::format("webhdfs://localhost:{}/user/alice", cluster.server.port())},
                                    {{"KRB5CCNAME", "FILE:" + cache.string()}});
  EXPECT_EQ(other_host.exit_code, 3) << other_host.err;
  EXPECT_NE(other_host.err.find("HTTP/localhost"), std::string::npos) << other_host.err;
  EXPECT_NE(other_host.err.find("KRB5CCNAME"), std::string::npos) << other_host.err;
  EXPECT_NE(other_host.err.find("KRB5_CONFIG"), std::string::npos) << other_host.err;
  Json stats = cluster.stats();
  EXPECT_EQ(stat_of(stats, "spnego"), 0) << "no request got in: " << dump_json(stats);
}

}  // namespace
}  // namespace airlock::testing
