// Servers for the GCS, Azure and WebHDFS store tests, started on 127.0.0.1 with free ports and
// stopped by their destructors: Azurite (npm, Microsoft's emulator), and the protocol-faithful
// GCS and WebHDFS test servers of tests/servers/ (no real ones can run here). Plus what their
// tests need: RSA keys and self-signed certificates made with the openssl CLI.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "testing.h"

// Asserts that a Status (or Result) is ok, showing its message when it is not.
#define ASSERT_OK(expr)                                                         \
  do {                                                                          \
    const auto& assert_ok_status_ = (expr);                                     \
    ASSERT_TRUE(assert_ok_status_.ok()) << assert_ok_status_.error().message(); \
  } while (0)

namespace airlock::testing {

// Debian's interpreter: the test servers use only the standard library.
std::string test_python();

// GET url (curl) parsed as JSON; an empty object when it fails.
Json fetch_json(const std::string& url);

// Removes the variables of the machine that would change how the GCS, Azure and WebHDFS code in
// this process behaves (credentials, emulator hosts, Kerberos), skips the metadata probe, and
// points AIRLOCK_STATE_DIR (kept GCS upload sessions) at a folder of this process.
void isolate_cloud_environment();

struct RsaKey {
  std::filesystem::path pem;  // PKCS#8 private key
  std::string modulus_hex;    // for the GCS test server (public exponent 65537)
};
// A fresh 2048-bit RSA key in `dir`, or nullopt when openssl fails.
std::optional<RsaKey> make_rsa_key(const std::filesystem::path& dir, const std::string& name);

// A self-signed certificate for 127.0.0.1 (cert.pem, key.pem in `dir`); false when openssl fails.
bool make_tls_certificate(const std::filesystem::path& dir);

// A Google service account key file whose token_uri is the test server's.
std::filesystem::path write_service_account_key(const std::filesystem::path& dir, const std::string& email,
                                                const RsaKey& key, const std::string& token_uri);

class GcsServer {
 public:
  bool start(const std::vector<std::string>& args);
  int port() const { return process_.port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }
  Json stats() const { return fetch_json(url() + "/__gcs__/stats"); }
  std::string last_output() const { return process_.last_output(); }

 private:
  ServerProcess process_;
};

class WebHdfsServer {
 public:
  bool start(const std::vector<std::string>& args);
  int port() const { return process_.port(); }
  std::string url() const;
  Json stats() const { return fetch_json(url() + "/__webhdfs__/stats"); }
  std::string last_output() const { return process_.last_output(); }
  bool tls = false;

 private:
  ServerProcess process_;
};

inline constexpr const char* kAzuriteAccount = "devstoreaccount1";
inline constexpr const char* kAzuriteKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

class Azurite {
 public:
  bool start(const std::vector<std::string>& extra = {});
  int port() const { return process_.port(); }
  // The blob service endpoint (path style, with the account).
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port()) + "/" + kAzuriteAccount; }
  std::string last_output() const { return process_.last_output(); }

 private:
  ServerProcess process_;
};

// A throwaway MIT Kerberos KDC (krb5kdc from Debian's krb5-kdc) on 127.0.0.1 with a free port,
// with its own realm, krb5.conf, kdc.conf and database in `dir`, run as this process's child with
// KRB5_CONFIG / KRB5_KDC_PROFILE pointing there; stopped by stop() or the destructor.
class MitKdc {
 public:
  static constexpr const char* kRealm = "AIRLOCK.TEST";
  MitKdc() = default;
  ~MitKdc();
  MitKdc(const MitKdc&) = delete;
  MitKdc& operator=(const MitKdc&) = delete;

  // Empty when krb5kdc, kdb5_util, kadmin.local, kinit and klist are all installed; else which
  // are missing (tests skip with it).
  static std::string missing_tools();
  // Where a Kerberos tool is (PATH, then /usr/sbin and /sbin); empty when it is not installed.
  static std::string tool(const std::string& name);

  // Writes the configuration, creates the database and starts krb5kdc; false with error().
  bool start(const std::filesystem::path& dir);
  void stop();
  // `principal` (without the realm) with a random key, its keys written to `keytab`.
  bool add_principal(const std::string& principal, const std::filesystem::path& keytab);
  // New random keys for `principal`: keytabs written before hold stale keys.
  bool change_key(const std::string& principal);
  // The longest ticket `principal` gets, in kadmin's words ("2 seconds").
  bool set_max_life(const std::string& principal, const std::string& life);
  // kinit -kt into `cache` (a file path), with ticket `lifetime` ("1h", "1s").
  bool kinit(const std::string& principal, const std::filesystem::path& keytab, const std::filesystem::path& cache,
             const std::string& lifetime = "1h");

  const std::filesystem::path& krb5_conf() const { return krb5_conf_; }
  // KRB5_CONFIG (and KRB5_KDC_PROFILE) for the Kerberos tools and libraries of a child.
  std::map<std::string, std::string> env() const;
  const std::string& error() const { return error_; }
  int port() const { return port_; }

 private:
  bool admin(const std::string& query);

  std::filesystem::path dir_;
  std::filesystem::path krb5_conf_;
  std::filesystem::path kdc_conf_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string error_;
};

// A container SAS token (version 2020-12-06 string to sign) for the Azurite account.
std::string azurite_container_sas(const std::string& container, const std::string& permissions);

}  // namespace airlock::testing
