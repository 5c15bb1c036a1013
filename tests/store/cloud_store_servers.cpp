#include "cloud_store_servers.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "core/base64.h"
#include "core/hash.h"
#include "core/strings.h"
#include "core/uri.h"

namespace airlock::testing {
namespace fs = std::filesystem;

std::string test_python() {
  return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

Json fetch_json(const std::string& url) {
  auto parsed = parse_json(run_command({"curl", "-s", "-k", url}).out, url);
  return parsed.ok() ? *parsed : Json::object();
}

void isolate_cloud_environment() {
  for (const char* name : {"GOOGLE_APPLICATION_CREDENTIALS",
                           "STORAGE_EMULATOR_HOST",
                           "GCE_METADATA_HOST",
                           "CLOUDSDK_CONFIG",
                           "GCS_HMAC_ACCESS_ID",
                           "GCS_HMAC_SECRET",
                           "AZURE_STORAGE_CONNECTION_STRING",
                           "AZURE_STORAGE_SAS_TOKEN",
                           "AZURE_STORAGE_ACCOUNT",
                           "AZURE_STORAGE_KEY",
                           "AZURE_STORAGE_ACCESS_KEY",
                           "AZURE_CLIENT_ID",
                           "AZURE_TENANT_ID",
                           "AZURE_CLIENT_SECRET",
                           "AZ_CLIENT_ID",
                           "AZ_TENANT_ID",
                           "AZ_CLIENT_SECRET",
                           "AZURE_FEDERATED_TOKEN_FILE",
                           "AZURE_AUTHORITY_HOST",
                           "HADOOP_USER_NAME",
                           "HADOOP_TOKEN",
                           "HADOOP_PROXY_USER",
                           "KRB5CCNAME",
                           "KERBEROS_KEYTAB",
                           "KERBEROS_PRINCIPAL",
                           "AIRLOCK_WEBHDFS_PORT",
                           "AIRLOCK_HTTPFS",
                           "AWS_CA_BUNDLE"}) {
    ::unsetenv(name);
  }
  // No metadata server here: do not spend a second probing 169.254.169.254.
  ::setenv("NO_GCE_CHECK", "true", 1);
  // The well-known gcloud file of whoever runs the tests must not be picked up.
  ::setenv("CLOUDSDK_CONFIG", "/nonexistent-airlock-test", 1);
  // GCS upload sessions kept for resuming go to a folder of this test process, removed at exit,
  // not to the state folder of whoever runs the tests.
  static TempDir state;
  ::setenv("AIRLOCK_STATE_DIR", state.path().c_str(), 1);
}

std::optional<RsaKey> make_rsa_key(const fs::path& dir, const std::string& name) {
  RsaKey key;
  key.pem = dir / (name + ".pem");
  auto made = run_command(
      {"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key.pem.string()});
  if (made.exit_code != 0) return std::nullopt;
  auto modulus = run_command({"openssl", "rsa", "-in", key.pem.string(), "-noout", "-modulus"});
  auto at = modulus.out.find("Modulus=");
  if (modulus.exit_code != 0 || at == std::string::npos) return std::nullopt;
  key.modulus_hex = std::string(trim(std::string_view(modulus.out).substr(at + 8)));
  return key;
}

bool make_tls_certificate(const fs::path& dir) {
  auto made = run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                           (dir / "key.pem").string(), "-out", (dir / "cert.pem").string(), "-days", "2", "-subj",
                           "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"});
  return made.exit_code == 0;
}

fs::path write_service_account_key(const fs::path& dir, const std::string& email, const RsaKey& key,
                                   const std::string& token_uri) {
  Json json = {{"type", "service_account"},
               {"project_id", "airlock-test"},
               {"private_key_id", "0123456789abcdef"},
               {"private_key", read_text(key.pem)},
               {"client_email", email},
               {"client_id", "1234567890"},
               {"auth_uri", "https://accounts.google.com/o/oauth2/auth"},
               {"token_uri", token_uri}};
  const fs::path path = dir / (email.substr(0, email.find('@')) + "-key.json");
  write_text(path, dump_json(json, 2));
  return path;
}

bool GcsServer::start(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {test_python(), (project_root() / "tests" / "servers" / "gcs_server.py").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return process_.start(argv);
}

bool WebHdfsServer::start(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {test_python(),
                                   (project_root() / "tests" / "servers" / "webhdfs_server.py").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  for (const auto& arg : args) tls = tls || arg == "--cert";
  return process_.start(argv);
}

std::string WebHdfsServer::url() const {
  return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port());
}

bool Azurite::start(const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {test_python(), (project_root() / "tests" / "servers" / "azurite_main.py").string(),
                                   "--node-modules", (project_root() / "node_modules").string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return process_.start(argv, {}, std::chrono::seconds(60));
}

std::string azurite_container_sas(const std::string& container, const std::string& permissions) {
  auto iso = [](std::chrono::system_clock::time_point t) {
    std::time_t seconds = std::chrono::system_clock::to_time_t(t);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return std::string(buffer);
  };
  const auto now = std::chrono::system_clock::now();
  const std::string start = iso(now - std::chrono::minutes(5));
  const std::string expiry = iso(now + std::chrono::hours(2));
  const std::string version = "2020-12-06";
  // The service SAS string to sign of version 2020-12-06 and later (create-service-sas).
  const std::string string_to_sign = fmt::format("{}\n{}\n{}\n/blob/{}/{}\n\n\n{}\n{}\nc\n\n\n\n\n\n\n", permissions,
                                                 start, expiry, kAzuriteAccount, container, "https,http", version);
  auto key = base64_decode(kAzuriteKey);
  const std::string signature = base64_encode(hmac_sha256(*key, string_to_sign));
  return fmt::format("sv={}&st={}&se={}&sr=c&sp={}&spr={}&sig={}", version, percent_encode(start),
                     percent_encode(expiry), permissions, percent_encode("https,http"), percent_encode(signature));
}

std::string MitKdc::tool(const std::string& name) {
  std::vector<std::string> dirs;
  for (auto part : split(std::getenv("PATH") != nullptr ? std::getenv("PATH") : "", ':')) {
    if (!part.empty()) dirs.emplace_back(part);
  }
  dirs.insert(dirs.end(), {"/usr/sbin", "/sbin", "/usr/bin"});
  for (const auto& dir : dirs) {
    const fs::path candidate = fs::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

std::string MitKdc::missing_tools() {
  std::string missing;
  for (const char* name : {"krb5kdc", "kdb5_util", "kadmin.local", "kinit", "klist"}) {
    if (tool(name).empty()) missing += std::string(missing.empty() ? "" : ", ") + name;
  }
  return missing;
}

std::map<std::string, std::string> MitKdc::env() const {
  return {{"KRB5_CONFIG", krb5_conf_.string()}, {"KRB5_KDC_PROFILE", kdc_conf_.string()}};
}

bool MitKdc::start(const fs::path& dir) {
  dir_ = dir;
  krb5_conf_ = dir / "krb5.conf";
  kdc_conf_ = dir / "kdc.conf";
  port_ = free_port();
  // No DNS: the service principal is HTTP/127.0.0.1, as libcurl names the host of the URL.
  // clockskew 1 s lets a test see a short ticket expire without waiting minutes.
  write_text(krb5_conf_, fmt::format(R"([libdefaults]
  default_realm = {0}
  dns_lookup_realm = false
  dns_lookup_kdc = false
  dns_canonicalize_hostname = false
  rdns = false
  udp_preference_limit = 1
  clockskew = 1
  default_ccache_name = FILE:{1}/default-ccache
  default_keytab_name = FILE:{1}/default.keytab
[realms]
  {0} = {{
    kdc = 127.0.0.1:{2}
  }}
[domain_realm]
  127.0.0.1 = {0}
  localhost = {0}
)",
                                     kRealm, dir.string(), port_));
  write_text(kdc_conf_, fmt::format(R"([kdcdefaults]
  kdc_ports = {2}
  kdc_tcp_ports = {2}
[realms]
  {0} = {{
    database_name = {1}/principal
    key_stash_file = {1}/stash
    acl_file = {1}/kadm5.acl
    max_life = 1h
    max_renewable_life = 0
  }}
[logging]
  kdc = FILE:{1}/kdc.log
)",
                                    kRealm, dir.string(), port_));
  write_text(dir / "kadm5.acl", "");
  auto created = run_command({tool("kdb5_util"), "create", "-s", "-r", kRealm, "-P", "airlock-test-master-key"}, env());
  if (created.exit_code != 0) {
    error_ = "kdb5_util create failed: " + created.out + created.err;
    return false;
  }
  auto environment = env();
  pid_ = spawn_background({tool("krb5kdc"), "-n", "-r", kRealm}, dir / "krb5kdc.out", environment);
  if (pid_ <= 0) {
    error_ = "krb5kdc could not be started";
    return false;
  }
  // Ready once its TCP port accepts connections.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (connected) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      error_ = "krb5kdc exited: " + read_text(dir / "krb5kdc.out");
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  error_ = "krb5kdc did not listen on port " + std::to_string(port_);
  return false;
}

void MitKdc::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    wait_for(pid_);
    pid_ = -1;
  }
}

MitKdc::~MitKdc() {
  stop();
}

bool MitKdc::admin(const std::string& query) {
  auto result = run_command({tool("kadmin.local"), "-r", kRealm, "-q", query}, env());
  // kadmin.local exits 0 even when the query fails: "<what>: <why> while <doing what>" on stderr.
  if (result.exit_code != 0 || result.err.find(" while ") != std::string::npos) {
    error_ = "kadmin.local -q '" + query + "': " + result.out + result.err;
    return false;
  }
  return true;
}

bool MitKdc::add_principal(const std::string& principal, const fs::path& keytab) {
  return admin("addprinc -randkey " + principal) && admin("ktadd -k " + keytab.string() + " " + principal);
}

bool MitKdc::change_key(const std::string& principal) {
  return admin("cpw -randkey " + principal);
}

bool MitKdc::set_max_life(const std::string& principal, const std::string& life) {
  return admin("modprinc -maxlife \"" + life + "\" " + principal);
}

bool MitKdc::kinit(const std::string& principal, const fs::path& keytab, const fs::path& cache,
                   const std::string& lifetime) {
  auto environment = env();
  environment["KRB5CCNAME"] = "FILE:" + cache.string();
  auto result = run_command({tool("kinit"), "-l", lifetime, "-kt", keytab.string(), principal}, environment);
  if (result.exit_code != 0) {
    error_ = "kinit " + principal + ": " + result.out + result.err;
    return false;
  }
  return true;
}

}  // namespace airlock::testing
