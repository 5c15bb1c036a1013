#include "store/webhdfs_store.h"

#include <gtest/gtest.h>

namespace airlock::store {
namespace {

TEST(WebHdfsParsing, ListStatusAndBatchAsWebHdfsMdShowsThem) {
  // The LISTSTATUS example of WebHDFS.md.
  auto listing = parse_webhdfs_listing(R"({"FileStatuses": {"FileStatus": [
      {"accessTime": 1320171722771, "blockSize": 33554432, "group": "supergroup", "length": 24930,
       "modificationTime": 1320171722771, "owner": "webuser", "pathSuffix": "a.patch", "permission": "644",
       "replication": 1, "type": "FILE"},
      {"accessTime": 0, "blockSize": 0, "group": "supergroup", "length": 0, "modificationTime": 1320895981256,
       "owner": "szetszwo", "pathSuffix": "bar", "permission": "711", "replication": 0, "type": "DIRECTORY"}]}})");
  ASSERT_TRUE(listing.ok()) << listing.error().message();
  ASSERT_EQ(listing->entries.size(), 2u);
  EXPECT_EQ(listing->entries[0].path_suffix, "a.patch");
  EXPECT_EQ(listing->entries[0].length, 24930u);
  EXPECT_EQ(listing->entries[1].type, "DIRECTORY");
  EXPECT_EQ(listing->remaining, 0u);
  // LISTSTATUS_BATCH.
  auto batch = parse_webhdfs_listing(R"({"DirectoryListing": {"partialListing": {"FileStatuses": {"FileStatus": [
      {"pathSuffix": "bazfile", "length": 24, "type": "FILE"}]}}, "remainingEntries": 2}})");
  ASSERT_TRUE(batch.ok()) << batch.error().message();
  EXPECT_EQ(batch->remaining, 2u);
  // LISTSTATUS of a file answers with the file itself (empty pathSuffix): nothing below it.
  auto file =
      parse_webhdfs_listing(R"({"FileStatuses": {"FileStatus": [{"pathSuffix": "", "length": 3, "type": "FILE"}]}})");
  ASSERT_TRUE(file.ok());
  EXPECT_TRUE(file->entries.empty());
  // Hostile names never become keys.
  EXPECT_FALSE(parse_webhdfs_listing(R"({"FileStatuses": {"FileStatus": [{"pathSuffix": "../x", "type": "FILE",
      "length": 1}]}})")
                   .ok());
  EXPECT_FALSE(
      parse_webhdfs_listing(R"({"FileStatuses": {"FileStatus": [{"pathSuffix": "..", "type": "DIRECTORY"}]}})").ok());
  EXPECT_FALSE(
      parse_webhdfs_listing(R"({"FileStatuses": {"FileStatus": [{"pathSuffix": "f", "type": "FILE"}]}})").ok());
  EXPECT_FALSE(parse_webhdfs_listing(R"({"boolean": true})").ok());
}

TEST(WebHdfsParsing, FileStatusAndRemoteExceptions) {
  auto status = parse_webhdfs_file_status(
      R"({"FileStatus": {"length": 0, "pathSuffix": "", "type": "DIRECTORY", "owner": "hdfs"}})");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->type, "DIRECTORY");
  auto [exception, message] = parse_remote_exception(R"({"RemoteException": {"exception": "FileNotFoundException",
      "javaClassName": "java.io.FileNotFoundException", "message": "File does not exist: /foo/a.patch"}})");
  EXPECT_EQ(exception, "FileNotFoundException");
  EXPECT_EQ(message, "File does not exist: /foo/a.patch");
  // Without "exception", the short name of javaClassName.
  auto [inner, text] = parse_remote_exception(R"({"RemoteException": {"javaClassName":
      "org.apache.hadoop.security.token.SecretManager$InvalidToken", "message": "token expired"}})");
  EXPECT_EQ(inner, "InvalidToken");
  EXPECT_EQ(parse_remote_exception("<html>401</html>").first, "");
}

TEST(WebHdfsSettings, PortsAuthAndPaths) {
  for (const char* name : {"HADOOP_USER_NAME", "HADOOP_TOKEN", "KRB5CCNAME", "KERBEROS_KEYTAB", "KERBEROS_PRINCIPAL",
                           "AIRLOCK_WEBHDFS_PORT", "AIRLOCK_HTTPFS", "HADOOP_PROXY_USER"}) {
    ::unsetenv(name);
  }
  ::setenv("HADOOP_USER_NAME", "airlock", 1);
  auto plain = resolve_webhdfs_settings(*parse_uri("webhdfs://nn:50070/models/llama"), {});
  ASSERT_TRUE(plain.ok()) << plain.error().message();
  EXPECT_EQ(plain->base_url, "http://nn:50070/webhdfs/v1");
  EXPECT_EQ(plain->root, "/models/llama/");
  EXPECT_EQ(plain->user, "airlock");
  EXPECT_EQ(plain->user_source, "HADOOP_USER_NAME");
  // A delegation token replaces user.name.
  WebHdfsOptions with_token;
  with_token.delegation_token = "HAAEYWlyAAAAAIoB";
  auto token = resolve_webhdfs_settings(*parse_uri("hdfs://nn:8020/m"), with_token);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->base_url, "http://nn:9870/webhdfs/v1");
  EXPECT_TRUE(token->user.empty());
  EXPECT_EQ(token->delegation_source, "--delegation-token");
  // A ticket cache turns on SPNEGO.
  ::setenv("KRB5CCNAME", "FILE:/tmp/krb5cc_test", 1);
  auto kerberos = resolve_webhdfs_settings(*parse_uri("swebhdfs://nn/m"), {});
  ::unsetenv("KRB5CCNAME");
  ASSERT_TRUE(kerberos.ok());
  EXPECT_TRUE(kerberos->kerberos);
  EXPECT_TRUE(kerberos->user.empty());
  ::unsetenv("HADOOP_USER_NAME");
  EXPECT_FALSE(resolve_webhdfs_settings(*parse_uri("webhdfs://nn/a/../b"), {}).ok());
  EXPECT_FALSE(resolve_webhdfs_settings(*parse_uri("webhdfs://nn/a?delegation=x"), {}).ok());
  ::setenv("AIRLOCK_WEBHDFS_PORT", "not-a-port", 1);
  auto bad_port = resolve_webhdfs_settings(*parse_uri("hdfs://nn:8020/m"), {});
  ::unsetenv("AIRLOCK_WEBHDFS_PORT");
  ASSERT_FALSE(bad_port.ok());
  EXPECT_NE(bad_port.error().message().find("AIRLOCK_WEBHDFS_PORT"), std::string::npos);
}

}  // namespace
}  // namespace airlock::store
