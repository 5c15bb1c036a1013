// A plain web server as a store: nginx (Debian) over TLS with a certificate the test makes,
// Basic auth, WebDAV PUT for push; pulls read through the index; TLS verification succeeds with
// --ca-bundle and fails without; single archive URLs (.tar.zst bundles with their index, plain
// .tar.gz and .zip) are unpacked safely, and hostile archives are refused before anything is
// written.
#include <gtest/gtest.h>

#include <filesystem>

#include "sync_cli.h"

namespace airlock::testing {
namespace {
namespace fs = std::filesystem;

const fs::path kRepo = "huggingface/hub/models--org--model";

class SyncHttps : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempDir();
    nginx_ = new Nginx();
    NginxOptions options;
    options.tls = true;
    options.basic_auth = "airlock:pw-for-tests-1";
    ASSERT_TRUE(nginx_->start(root_->path(), options)) << nginx_->last_output();
  }
  static void TearDownTestSuite() {
    delete nginx_;
    delete root_;
  }
  static CommandResult run(std::vector<std::string> args, bool with_ca = true,
                           const std::string& user = "airlock:pw-for-tests-1") {
    if (with_ca) args.insert(args.end(), {"--ca-bundle", nginx_->ca_file().string()});
    return airlock(args, {{"AIRLOCK_HTTP_USER", user}});
  }
  static std::string url(const std::string& path) { return nginx_->url() + "/" + path; }

  // Writes an archive with Python's tarfile/zipfile (another implementation than libarchive).
  void python_archive(const fs::path& out, const std::string& kind, const std::string& members) {
    const std::string script = R"(
import io, sys, tarfile, zipfile
out, kind = sys.argv[1], sys.argv[2]
members = [m.split('=', 1) for m in sys.argv[3].split(';') if m]
if kind == 'zip':
    with zipfile.ZipFile(out, 'w') as z:
        for name, data in members:
            z.writestr(name, data)
else:
    with tarfile.open(out, 'w:gz') as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if data.startswith('->'):
                info.type = tarfile.SYMTYPE
                info.linkname = data[2:]
                t.addfile(info)
            else:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data.encode()))
)";
    auto result = run_command({"/usr/bin/python3", "-c", script, out.string(), kind, members});
    ASSERT_EQ(result.exit_code, 0) << result.err;
  }

  static TempDir* root_;
  static Nginx* nginx_;
  TempDir tmp_;
};

TempDir* SyncHttps::root_ = nullptr;
Nginx* SyncHttps::nginx_ = nullptr;

TEST_F(SyncHttps, PushWithWebDavPullThroughTheIndex) {
  make_cache(tmp_ / "cache", 2 * 1024 * 1024 + 3);
  auto pushed = run({"push", (tmp_ / "cache").string(), url("trees/m"), "--json"});
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  EXPECT_EQ(json_of(pushed)["uploaded_files"], 5);
  // On the server: the files and the index, no copies of the symlinks.
  EXPECT_TRUE(fs::exists(root_->path() / "trees/m/.airlock/index.json"));
  EXPECT_EQ(sha_of_file(root_->path() / "trees/m" / kRepo / "blobs/big"),
            sha_of_file(tmp_ / "cache" / kRepo / "blobs/big"));
  EXPECT_FALSE(fs::exists(root_->path() / "trees/m" / kRepo / "snapshots"));

  auto listed = run({"ls", url("trees/m"), "-r", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(json_of(listed)["index"]["files"], 5);

  auto pulled = run({"pull", url("trees/m"), (tmp_ / "dst").string(), "--json", "--part-size", "1MiB"});
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  EXPECT_EQ(json_of(pulled)["verified"], true);
  EXPECT_EQ(sha_of_file(tmp_ / "dst" / kRepo / "snapshots/abc123/model.safetensors"),
            sha_of_file(tmp_ / "cache" / kRepo / "blobs/big"));
  auto again = run({"push", (tmp_ / "cache").string(), url("trees/m"), "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(json_of(again)["uploaded_files"], 0);
  EXPECT_EQ(run({"verify", url("trees/m")}).exit_code, 0);
}

TEST_F(SyncHttps, TlsVerificationNeedsTheCaBundle) {
  make_cache(tmp_ / "cache", 1000, 1);
  ASSERT_EQ(run({"push", (tmp_ / "cache").string(), url("tls/m")}).exit_code, 0);
  auto untrusted = airlock(
      {"pull", url("tls/m"), (tmp_ / "dst").string()},
      {{"AIRLOCK_HTTP_USER", "airlock:pw-for-tests-1"}, {"SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"}});
  EXPECT_EQ(untrusted.exit_code, 1);
  EXPECT_NE(untrusted.err.find("CA"), std::string::npos) << untrusted.err;
  EXPECT_FALSE(fs::exists(tmp_ / "dst" / kRepo));
  auto insecure = run({"pull", url("tls/m"), (tmp_ / "dst").string(), "--insecure"}, false);
  EXPECT_EQ(insecure.exit_code, 0) << insecure.err;
  EXPECT_NE(insecure.err.find("insecure"), std::string::npos) << "turning verification off is said out loud";
}

TEST_F(SyncHttps, WrongPasswordIsACredentialsError) {
  auto refused = run({"ls", url("trees/m")}, true, "airlock:not-the-password");
  EXPECT_EQ(refused.exit_code, 3) << refused.err;
  EXPECT_EQ(refused.err.find("not-the-password"), std::string::npos) << "the password must not be shown";
}

TEST_F(SyncHttps, BundleServedAsOneFileIsVerifiedOnPull) {
  make_cache(tmp_ / "cache", 512 * 1024);
  auto bundled =
      airlock({"bundle", (tmp_ / "cache").string(), (root_->path() / "archives/model.tar.zst").string(), "--json"});
  ASSERT_EQ(bundled.exit_code, 0) << bundled.err;
  EXPECT_EQ(json_of(bundled)["zstd"], true);
  auto pulled = run({"pull", url("archives/model.tar.zst"), (tmp_ / "dst").string(), "--json"});
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  EXPECT_EQ(json_of(pulled)["verified"], true);
  EXPECT_TRUE(fs::is_symlink(tmp_ / "dst" / kRepo / "snapshots/abc123/model.safetensors"));
  EXPECT_EQ(sha_of_file(tmp_ / "dst" / kRepo / "blobs/big"), sha_of_file(tmp_ / "cache" / kRepo / "blobs/big"));
  EXPECT_FALSE(fs::exists(tmp_ / "dst" / ".airlock/index.json")) << "the index is read, not unpacked";
}

TEST_F(SyncHttps, PlainArchivesAndHostileOnes) {
  fs::create_directories(root_->path() / "plain");
  python_archive(root_->path() / "plain/model.tar.gz", "tar", "model/config.json={};model/weights.bin=0123456789;");
  python_archive(root_->path() / "plain/model.zip", "zip", "config.json={\"zip\":1};sub/w.bin=abc;");
  auto tar = run({"pull", url("plain/model.tar.gz"), (tmp_ / "tar").string(), "--json"});
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  EXPECT_EQ(json_of(tar)["verified"], false);
  EXPECT_EQ(read_text(tmp_ / "tar/model/weights.bin"), "0123456789");
  auto zip = run({"pull", url("plain/model.zip"), (tmp_ / "zip").string()});
  ASSERT_EQ(zip.exit_code, 0) << zip.err;
  EXPECT_EQ(read_text(tmp_ / "zip/sub/w.bin"), "abc");

  const std::vector<std::pair<std::string, std::string>> hostile = {
      {"dotdot", "ok.txt=fine;../escape.txt=evil;"},
      {"absolute", "ok.txt=fine;/tmp/airlock-abs-escape.txt=evil;"},
      {"symlink", "ok.txt=fine;link=->../../../../etc/passwd;"},
      {"through-link", "d=->sub;d/x.txt=evil;"},
  };
  for (const auto& [name, members] : hostile) {
    SCOPED_TRACE(name);
    python_archive(root_->path() / "plain" / (name + ".tar.gz"), "tar", members);
    const fs::path dest = tmp_ / ("hostile-" + name);
    auto refused = run({"pull", url("plain/" + name + ".tar.gz"), dest.string()});
    EXPECT_EQ(refused.exit_code, 2) << refused.err;
    EXPECT_FALSE(fs::exists(dest / "ok.txt")) << "nothing is unpacked from a hostile archive";
    EXPECT_FALSE(fs::exists(tmp_.path() / "escape.txt"));
    EXPECT_FALSE(fs::exists("/tmp/airlock-abs-escape.txt"));
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dest, ec)) ADD_FAILURE() << "left behind: " << entry.path();
  }
}

}  // namespace
}  // namespace airlock::testing
