#include "core/uri.h"

#include <gtest/gtest.h>

namespace airlock {
namespace {

TEST(Uri, StoreForms) {
  auto s3 = parse_uri("s3://my-bucket/models/llama/");
  ASSERT_TRUE(s3.ok());
  EXPECT_EQ(s3->scheme, "s3");
  EXPECT_EQ(s3->host, "my-bucket");
  EXPECT_EQ(s3->path, "/models/llama/");

  auto hdfs = parse_uri("hdfs://namenode.local:8020/user/models");
  ASSERT_TRUE(hdfs.ok());
  EXPECT_EQ(hdfs->host, "namenode.local");
  EXPECT_EQ(hdfs->port, 8020);
  EXPECT_EQ(hdfs->path, "/user/models");

  auto azure = parse_uri("https://acct.blob.core.windows.net/container/p/q?sv=2021&sig=abc%2B");
  ASSERT_TRUE(azure.ok());
  EXPECT_EQ(azure->host, "acct.blob.core.windows.net");
  EXPECT_EQ(azure->query_param("sig"), "abc+");
  EXPECT_EQ(azure->origin(), "https://acct.blob.core.windows.net");
}

TEST(Uri, ModelSources) {
  auto ngc = parse_uri("ngc://nim/meta/llama-3.1-8b:hf-8c22764+b?file=config.json");
  ASSERT_TRUE(ngc.ok());
  EXPECT_EQ(ngc->scheme, "ngc");
  EXPECT_EQ(ngc->host, "nim");
  EXPECT_EQ(ngc->path, "/meta/llama-3.1-8b:hf-8c22764+b");
  EXPECT_EQ(ngc->query_param("file"), "config.json");

  auto hf = parse_uri("hf://BAAI/bge-small-en-v1.5:main?file=onnx/model.onnx");
  ASSERT_TRUE(hf.ok());
  EXPECT_EQ(hf->host, "BAAI");
  EXPECT_EQ(hf->path, "/bge-small-en-v1.5:main");
  EXPECT_EQ(hf->query_param("file"), "onnx/model.onnx");
}

TEST(Uri, LocalPaths) {
  auto plain = parse_uri("/var/cache/models");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->scheme, "file");
  EXPECT_EQ(plain->path, "/var/cache/models");
  auto relative = parse_uri("cache/dir:with-colon");
  ASSERT_TRUE(relative.ok());
  EXPECT_EQ(relative->scheme, "file");
  EXPECT_EQ(relative->path, "cache/dir:with-colon");
  auto file = parse_uri("file:///tmp/a%20b");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->path, "/tmp/a b");
  EXPECT_FALSE(parse_uri("file://otherhost/x").ok());
}

TEST(Uri, Errors) {
  EXPECT_FALSE(parse_uri("").ok());
  EXPECT_FALSE(parse_uri("s3:///no-bucket").ok());
  EXPECT_FALSE(parse_uri("http://host:99999/").ok());
  EXPECT_FALSE(parse_uri("http://host:12ab/").ok());
  EXPECT_FALSE(parse_uri("http://host/%zz").ok());
  EXPECT_FALSE(parse_uri("http://[::1/").ok());
}

TEST(Uri, UserinfoNeverPrintedByDefault) {
  auto uri = parse_uri("https://user:secret@host:8443/p");
  ASSERT_TRUE(uri.ok());
  EXPECT_EQ(uri->userinfo, "user:secret");
  EXPECT_EQ(uri->to_string(), "https://host:8443/p");
  EXPECT_EQ(uri->to_string(true), "https://user:secret@host:8443/p");
}

TEST(Uri, PercentEncoding) {
  EXPECT_EQ(percent_encode("nim/meta/x:hf?file=config.json"), "nim%2Fmeta%2Fx%3Ahf%3Ffile%3Dconfig.json");
  EXPECT_EQ(percent_encode("a b/c", "/"), "a%20b/c");
  EXPECT_EQ(*percent_decode("a%20b+c"), "a b+c");
}

}  // namespace
}  // namespace airlock
