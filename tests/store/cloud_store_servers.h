// Servers for the GCS, Azure and WebHDFS store tests, started on 127.0.0.1 with free ports and
// stopped by their destructors: Azurite (npm, Microsoft's emulator), and the protocol-faithful
// GCS and WebHDFS test servers of tests/servers/ (no real ones can run here). Plus what their
// tests need: RSA keys and self-signed certificates made with the openssl CLI.
#pragma once

#include <filesystem>
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
// this process behaves (credentials, emulator hosts, Kerberos), and skips the metadata probe.
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

// A container SAS token (version 2020-12-06 string to sign) for the Azurite account.
std::string azurite_container_sas(const std::string& container, const std::string& permissions);

}  // namespace airlock::testing
