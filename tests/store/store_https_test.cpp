// The conformance suite on a plain web server: nginx (Debian) over TLS with a certificate made by
// the test, Basic auth, WebDAV PUT/DELETE. Such a store cannot list; it is read through its index.
// Also a server that ignores Range requests (Python's http.server): parallel and resumed reads
// fall back to reading the object whole.
#include <gtest/gtest.h>

#include "store/file_store.h"
#include "store/https_store.h"
#include "store/store_factory.h"
#include "sync/pull.h"
#include "sync/push.h"
#include "sync/tree_scan.h"
#include "store_conformance.h"
#include "store_servers.h"
#include "testing.h"

namespace airlock::testing {
namespace {

class HttpsBackend final : public ConformanceBackend {
 public:
  HttpsBackend() {
    NginxOptions options;
    options.tls = true;
    options.basic_auth = "airlock:s3cret-pass";
    started_ = nginx_.start(root_.path(), options);
  }
  std::string name() const override { return "https"; }
  std::unique_ptr<store::Store> open(const std::string& prefix) override { return make(prefix, "s3cret-pass"); }
  std::unique_ptr<store::Store> open_with_wrong_credentials(const std::string& prefix) override {
    return make(prefix, "wrong-pass");
  }
  std::string credentials_hint() const override { return "--http-user"; }
  bool started() const { return started_; }
  Nginx& nginx() { return nginx_; }

 private:
  std::unique_ptr<store::Store> make(const std::string& prefix, const std::string& password) {
    store::StoreConfig config;
    config.ca_bundle = nginx_.ca_file().string();
    config.http.user = "airlock";
    config.http.password = password;
    auto opened = store::open_store(nginx_.url() + "/" + prefix, config);
    if (!opened.ok()) {
      ADD_FAILURE() << opened.error().message();
      return nullptr;
    }
    return std::move(*opened);
  }

  TempDir root_;
  Nginx nginx_;
  bool started_ = false;
};

HttpsBackend& https_backend() {
  static HttpsBackend backend;
  return backend;
}

ConformanceBackend& https_conformance() {
  HttpsBackend& backend = https_backend();
  if (!backend.started()) ADD_FAILURE() << "nginx did not start: " << backend.nginx().last_output();
  return backend;
}

INSTANTIATE_TEST_SUITE_P(Https, StoreConformance, ::testing::Values(BackendMaker{"https", https_conformance}),
                         [](const auto& param_info) { return param_info.param.name; });

TEST(HttpsStore, TlsNeedsTheTestCertificate) {
  auto& backend = https_backend();
  ASSERT_TRUE(backend.started());
  store::StoreConfig config;
  config.http.user = "airlock";
  config.http.password = "s3cret-pass";
  ::setenv("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt", 1);
  auto opened = store::open_store(backend.nginx().url() + "/tls/", config);
  ::unsetenv("SSL_CERT_FILE");
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  auto info = (*opened)->stat("anything");
  ASSERT_FALSE(info.ok()) << "a self-signed certificate must not be trusted without --ca-bundle";
  EXPECT_EQ(info.error().code(), ErrorCode::kNetwork) << info.error().message();
  EXPECT_NE(info.error().message().find("CA"), std::string::npos) << info.error().message();
}

TEST(HttpsStore, BearerTokenAuth) {
  TempDir root;
  Nginx nginx;
  NginxOptions options;
  options.bearer = "tok-123456789";
  ASSERT_TRUE(nginx.start(root.path(), options)) << nginx.last_output();
  store::StoreConfig config;
  config.http.bearer = "tok-123456789";
  auto good = store::open_store(nginx.url() + "/b/", config);
  ASSERT_TRUE(good.ok());
  ASSERT_TRUE((*good)->write_string("x.txt", "bearer").ok());
  config.http.bearer = "tok-wrong-000000";
  auto bad = store::open_store(nginx.url() + "/b/", config);
  ASSERT_TRUE(bad.ok());
  auto refused = (*bad)->read_to_string("x.txt", 100);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnauthenticated) << refused.error().message();
  EXPECT_EQ(refused.error().message().find("tok-wrong"), std::string::npos) << "a token must never reach a message";
}

TEST(HttpsStore, ServerThatIgnoresRangesIsReadWhole) {
  TempDir served;
  TempDir tmp;
  std::filesystem::create_directories(tmp / "src");
  const std::string data = pattern_bytes(3 * 1024 * 1024 + 5, 31);
  write_text(tmp / "src" / "weights.bin", data);
  write_text(tmp / "src" / "config.json", "{}");
  store::FileStore folder(served / "tree");
  sync::PushOptions push;
  push.progress.style = ProgressStyle::kQuiet;
  ASSERT_TRUE(sync::push(tmp / "src", folder, push).ok());
  // Python's SimpleHTTPRequestHandler answers every GET with the whole file (200, no Range).
  const std::string script = R"(
import functools, http.server, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=sys.argv[1]))
print("LISTENING %d" % server.server_address[1], flush=True)
server.serve_forever()
)";
  ServerProcess server;
  ASSERT_TRUE(server.start({"/usr/bin/python3", "-c", script, served.path().string()})) << server.last_output();
  auto opened = store::open_store("http://127.0.0.1:" + std::to_string(server.port()) + "/tree", store::StoreConfig{});
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  // What an interrupted pull left: the first MiB under the partial name, to be continued.
  std::filesystem::create_directories(tmp / "dst");
  write_text(sync::partial_path_for(tmp / "dst" / "weights.bin"), data.substr(0, 1024 * 1024));
  sync::PullOptions pull;
  pull.progress.style = ProgressStyle::kQuiet;
  pull.part_size = 1024 * 1024;
  pull.part_parallel = 3;
  auto pulled = sync::pull(**opened, tmp / "dst", pull);
  ASSERT_TRUE(pulled.ok()) << pulled.error().message();
  EXPECT_TRUE(pulled->verified);
  EXPECT_TRUE(read_text(tmp / "dst" / "weights.bin") == data);
  // Without a partial file the parallel read meets the same server.
  auto fresh = sync::pull(**opened, tmp / "fresh", pull);
  ASSERT_TRUE(fresh.ok()) << fresh.error().message();
  EXPECT_TRUE(read_text(tmp / "fresh" / "weights.bin") == data);
}

}  // namespace
}  // namespace airlock::testing
