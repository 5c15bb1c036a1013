#include "cloud_store_servers.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <ctime>

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

}  // namespace airlock::testing
