#include "store_servers.h"

#include <cstdlib>
#include <random>

namespace airlock::testing {
namespace fs = std::filesystem;

namespace {

constexpr const char* kUnset = "\x01unset";

std::string python() {
  // Debian's interpreter: the tests' helper servers use only the standard library.
  return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

}  // namespace

std::map<std::string, std::string> s3_client_env() {
  return {
      {"AWS_ACCESS_KEY_ID", "S3RVER"},
      {"AWS_SECRET_ACCESS_KEY", "S3RVER"},
      {"AWS_SESSION_TOKEN", kUnset},
      {"AWS_CA_BUNDLE", kUnset},
      {"AWS_PROFILE", kUnset},
      {"AWS_ENDPOINT_URL", kUnset},
      {"AWS_ENDPOINT_URL_S3", kUnset},
      {"S3_ENDPOINT", kUnset},
      {"S3_USE_HTTPS", kUnset},
      {"S3_VERIFY_SSL", kUnset},
      {"S3_USER_VIRTUAL_BUCKET", kUnset},
      {"AWS_ROLE_ARN", kUnset},
      {"AWS_WEB_IDENTITY_TOKEN_FILE", kUnset},
      {"AWS_CONFIG_FILE", "/dev/null"},
      {"AWS_SHARED_CREDENTIALS_FILE", "/dev/null"},
      {"AWS_DEFAULT_REGION", "us-east-1"},
      // aws-cli >= 2.23 sends CRC checksums s3rver does not know; harmless for older ones.
      {"AWS_REQUEST_CHECKSUM_CALCULATION", "when_required"},
      {"AWS_RESPONSE_CHECKSUM_VALIDATION", "when_required"},
      {"AWS_EC2_METADATA_DISABLED", "true"},
      {"AIRLOCK_LOG_LEVEL", "warn"},
  };
}

void isolate_aws_environment() {
  for (const auto& [name, value] : s3_client_env()) {
    if (value == kUnset) {
      ::unsetenv(name.c_str());
    } else {
      ::setenv(name.c_str(), value.c_str(), 1);
    }
  }
}

bool S3rver::start(const std::vector<std::string>& buckets, bool vhost) {
  // s3rver makes its ListObjectsV2 continuation tokens with DES, which Node >= 17 (OpenSSL 3)
  // only offers through the legacy provider; without it every second listing page is a 500.
  std::vector<std::string> argv = {"node", "--openssl-legacy-provider",
                                   (project_root() / "tests" / "servers" / "s3rver_main.js").string(), "--directory",
                                   (dir_.path() / "data").string()};
  if (vhost) {
    argv.push_back("--service-endpoint");
    argv.push_back("localhost");
  }
  for (const auto& bucket : buckets) argv.push_back(bucket);
  return process_.start(argv, {{"AIRLOCK_NODE_MODULES", (project_root() / "node_modules").string()}});
}

fs::path S3rver::object_file(const std::string& bucket, const std::string& key) const {
  return dir_.path() / "data" / bucket / (key + "._S3rver_object");
}

bool FaultProxy::start(const std::string& upstream, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {python(), (project_root() / "tests" / "servers" / "fault_proxy.py").string(),
                                   "--upstream", upstream};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return process_.start(argv);
}

std::string FaultProxy::control(const std::string& method, const std::string& path, const std::string& body) {
  std::vector<std::string> argv = {"curl", "-s", "-X", method, url() + path};
  if (!body.empty()) {
    argv.push_back("--data-binary");
    argv.push_back(body);
  }
  return run_command(argv).out;
}

bool FaultProxy::add_rule(const Json& rule) {
  Json list = Json::array();
  list.push_back(rule);
  return control("POST", "/__fault__/rules", dump_json(list)).find("rules") != std::string::npos;
}

Json FaultProxy::stats() {
  auto parsed = parse_json(control("GET", "/__fault__/stats", ""), "fault proxy stats");
  return parsed.ok() ? *parsed : Json::object();
}

void FaultProxy::clear_rules() {
  control("DELETE", "/__fault__/rules", "");
}

void FaultProxy::reset() {
  control("POST", "/__fault__/reset", "");
}

bool Nginx::start(const fs::path& root, const NginxOptions& options) {
  tls_ = options.tls;
  std::vector<std::string> argv = {python(), (project_root() / "tests" / "servers" / "nginx_main.py").string(),
                                   "--dir",  (dir_.path() / "work").string(),
                                   "--root", root.string()};
  if (options.tls) argv.push_back("--tls");
  if (!options.basic_auth.empty()) {
    argv.push_back("--basic-auth");
    argv.push_back(options.basic_auth);
  }
  if (!options.bearer.empty()) {
    argv.push_back("--bearer");
    argv.push_back(options.bearer);
  }
  return process_.start(argv);
}

std::string Nginx::url() const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port());
}

std::string aws_cli() {
  return fs::exists("/usr/bin/aws") ? "/usr/bin/aws" : "aws";
}

std::string pattern_bytes(std::size_t size, unsigned seed) {
  std::string out(size, '\0');
  std::mt19937 rng(seed);
  for (std::size_t i = 0; i < size; i += 4) {
    std::uint32_t v = rng();
    for (std::size_t j = 0; j < 4 && i + j < size; ++j) out[i + j] = static_cast<char>((v >> (8 * j)) & 0xff);
  }
  return out;
}

}  // namespace airlock::testing
