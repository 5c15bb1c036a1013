// Real servers for the store and sync tests, started on 127.0.0.1 with free ports and stopped
// by their destructors: s3rver (npm), nginx (Debian) with WebDAV and optional TLS/auth, and the
// fault proxy (tests/servers/fault_proxy.py) that goes between airlock and either of them.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "testing.h"

namespace airlock::testing {

// The environment for child processes (airlock, aws, rclone) that talk to a local s3rver: its
// credentials, no CA bundle from the machine (it breaks plain-http clients), no user profile.
std::map<std::string, std::string> s3_client_env();

// Removes variables of the machine that would change how the store code in this process
// behaves (AWS_CA_BUNDLE, AWS_PROFILE, endpoint overrides), and sets s3rver's credentials.
void isolate_aws_environment();

class S3rver {
 public:
  // Starts s3rver with `buckets` created. With vhost, bucket.s3.localhost:<port> addresses work.
  bool start(const std::vector<std::string>& buckets, bool vhost = false);
  int port() const { return process_.port(); }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port()); }
  const std::filesystem::path& directory() const { return dir_.path(); }
  // Where s3rver keeps an object's bytes (tests corrupt stored objects through it).
  std::filesystem::path object_file(const std::string& bucket, const std::string& key) const;
  std::string last_output() const { return process_.last_output(); }

 private:
  TempDir dir_;
  ServerProcess process_;
};

class FaultProxy {
 public:
  // `extra`: more fault_proxy.py flags, e.g. {"--emulate-upload-listing", "--uploads-page-size", "1"}.
  bool start(const std::string& upstream, const std::vector<std::string>& extra = {});
  int port() const { return process_.port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }
  // Adds a rule (see fault_proxy.py); returns false when the proxy did not take it.
  bool add_rule(const Json& rule);
  Json stats();
  // Drops the rules, keeps counters, log and the multipart uploads seen.
  void clear_rules();
  void reset();

 private:
  std::string control(const std::string& method, const std::string& path, const std::string& body);
  ServerProcess process_;
};

struct NginxOptions {
  bool tls = false;
  std::string basic_auth;  // "user:password"
  std::string bearer;
};

class Nginx {
 public:
  bool start(const std::filesystem::path& root, const NginxOptions& options);
  int port() const { return process_.port(); }
  std::string url() const;
  // The self-signed certificate (with tls): the CA bundle a client needs.
  std::filesystem::path ca_file() const { return dir_.path() / "work" / "cert.pem"; }
  std::string last_output() const { return process_.last_output(); }

 private:
  TempDir dir_;
  ServerProcess process_;
  bool tls_ = false;
};

// Debian's aws CLI (v2 from the awscli package) when installed, else the first `aws` on PATH.
std::string aws_cli();

// The size-pattern of a file: deterministic bytes from `seed`.
std::string pattern_bytes(std::size_t size, unsigned seed);

}  // namespace airlock::testing
