// The conformance suite on S3 (s3rver from npm, started here), and what is particular to S3:
// virtual-hosted addressing, keys that need encoding, listing pages whose continuation tokens
// must be re-encoded for the signature, and servers that cannot list multipart uploads.
#include <gtest/gtest.h>

#include "store/aws_credentials.h"
#include "store/s3_settings.h"
#include "store/s3_store.h"
#include "store/store_factory.h"
#include "store_conformance.h"
#include "store_servers.h"
#include "testing.h"

namespace airlock::testing {
namespace {

constexpr const char* kBucket = "conformance";

class S3Backend final : public ConformanceBackend {
 public:
  S3Backend() {
    isolate_aws_environment();
    started_ = server_.start({kBucket, "other"});
  }
  std::string name() const override { return "s3"; }
  std::unique_ptr<store::Store> open(const std::string& prefix) override { return make(prefix, "S3RVER"); }
  std::unique_ptr<store::Store> open_with_wrong_credentials(const std::string& prefix) override {
    return make(prefix, "AKIAWRONGWRONGWRONG1");
  }
  std::string credentials_hint() const override { return "AWS_ACCESS_KEY_ID"; }
  S3rver& server() { return server_; }
  bool started() const { return started_; }

 private:
  std::unique_ptr<store::Store> make(const std::string& prefix, const std::string& key_id) {
    if (!started_) return nullptr;
    store::S3Options options;
    options.endpoint_url = server_.endpoint();
    auto settings = store::resolve_s3_settings(options);
    if (!settings.ok()) return nullptr;
    store::StoreConfig config;
    auto client = store::http_client_for(config);
    if (!client.ok()) return nullptr;
    auto credentials = store::static_credentials({key_id, "S3RVER", "", {}, "test credentials"});
    return std::make_unique<store::S3Store>(kBucket, prefix, *settings, credentials, *client);
  }

  S3rver server_;
  bool started_ = false;
};

S3Backend& s3_backend() {
  static S3Backend backend;
  return backend;
}

ConformanceBackend& s3_conformance() {
  S3Backend& backend = s3_backend();
  if (!backend.started()) ADD_FAILURE() << "s3rver did not start: " << backend.server().last_output();
  return backend;
}

INSTANTIATE_TEST_SUITE_P(S3, StoreConformance, ::testing::Values(BackendMaker{"s3", s3_conformance}),
                         [](const auto& param_info) { return param_info.param.name; });

TEST(S3Store, KeysThatNeedEncodingAndTokensWithPlusSigns) {
  auto& backend = s3_backend();
  ASSERT_TRUE(backend.started());
  auto s = backend.open("encoding/");
  // Characters that must be encoded once, exactly, in the path and in the signature.
  const std::vector<std::string> keys = {"a b/c+d=e.txt", "ü/ß.bin", "x/y;z,1&2.txt", "t~e_s-t.txt", "plus+plus+plus"};
  for (const auto& key : keys) ASSERT_TRUE(s->write_string(key, key).ok()) << key;
  store::ListOptions options;
  options.page_size = 1;
  std::vector<std::string> seen;
  std::optional<std::string> token;
  do {
    auto page = s->list_page("", options, token);
    ASSERT_TRUE(page.ok()) << page.error().message();
    for (const auto& o : page->objects) seen.push_back(o.key);
    token = page->next_token;
  } while (token);
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(seen, sorted);
  for (const auto& key : keys) {
    auto text = s->read_to_string(key, 1000);
    ASSERT_TRUE(text.ok()) << key << ": " << text.error().message();
    EXPECT_EQ(*text, key);
  }
}

TEST(S3Store, VirtualHostedAddressing) {
  isolate_aws_environment();
  S3rver server;
  ASSERT_TRUE(server.start({"vhosted"}, true)) << server.last_output();
  store::StoreConfig config;
  // bucket.s3.localhost resolves to the loopback address (curl treats *.localhost so).
  config.s3.endpoint_url = "http://s3.localhost:" + std::to_string(server.port());
  config.s3.addressing = "virtual";
  auto opened = store::open_store("s3://vhosted/models/x", config);
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  ASSERT_TRUE((*opened)->write_string("a.txt", "virtual").ok());
  // The object landed in the bucket named by the host, under the prefix.
  EXPECT_TRUE(std::filesystem::exists(server.object_file("vhosted", "models/x/a.txt")));
  auto text = (*opened)->read_to_string("a.txt", 100);
  ASSERT_TRUE(text.ok()) << text.error().message();
  EXPECT_EQ(*text, "virtual");
}

TEST(S3Store, MissingBucketNamesTheEndpoint) {
  auto& backend = s3_backend();
  ASSERT_TRUE(backend.started());
  store::StoreConfig config;
  config.s3.endpoint_url = backend.server().endpoint();
  auto opened = store::open_store("s3://no-such-bucket/x", config);
  ASSERT_TRUE(opened.ok());
  auto listed = (*opened)->list_all("");
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(listed.error().message().find("no-such-bucket"), std::string::npos) << listed.error().message();
}

TEST(S3Store, StaleUploadCleanupToleratesServersThatCannotListThem) {
  auto& backend = s3_backend();
  ASSERT_TRUE(backend.started());
  auto s = backend.open("uploads/");
  auto aborted = s->abort_stale_uploads("");
  ASSERT_TRUE(aborted.ok()) << aborted.error().message();
  EXPECT_EQ(*aborted, 0u);
}

TEST(S3Store, ParsesListMultipartUploadsAsAwsDocumentsIt) {
  // The example answer from the ListMultipartUploads API reference (trimmed).
  const char* xml = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>bucket</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>
  <NextKeyMarker>my-movie.m2ts</NextKeyMarker>
  <NextUploadIdMarker>YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ</NextUploadIdMarker>
  <MaxUploads>3</MaxUploads><IsTruncated>true</IsTruncated>
  <Upload><Key>my-divisor</Key><UploadId>XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw</UploadId>
    <Initiator><ID>arn:aws:iam::111122223333:user/user1-11111a31-17b5-4fb7-9df5-b111111f13de</ID></Initiator>
    <StorageClass>STANDARD</StorageClass><Initiated>2010-11-10T20:48:33.000Z</Initiated></Upload>
  <Upload><Key>my-movie.m2ts</Key><UploadId>VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>
    <Initiated>2010-11-10T20:48:33.000Z</Initiated></Upload>
</ListMultipartUploadsResult>)";
  auto parsed = store::parse_list_multipart_uploads(xml);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(parsed->uploads.size(), 2u);
  EXPECT_EQ(parsed->uploads[0].key, "my-divisor");
  EXPECT_EQ(parsed->uploads[1].upload_id, "VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
  EXPECT_TRUE(parsed->truncated);
  EXPECT_EQ(parsed->next_key_marker, "my-movie.m2ts");
}

}  // namespace
}  // namespace airlock::testing
