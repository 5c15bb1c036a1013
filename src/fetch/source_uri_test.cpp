#include "fetch/source_uri.h"

#include <gtest/gtest.h>

namespace airlock::fetch {
namespace {

TEST(SourceUri, NgcWithAndWithoutTeam) {
  auto ref = parse_source_uri("ngc://nim/meta/llama-3.1-8b-instruct:0.12.0+b1a2c3d4-h100x1-fp8-throughput?file=rank0.engine");
  ASSERT_TRUE(ref.ok()) << ref.error().message();
  EXPECT_EQ(ref->kind, SourceKind::kNgc);
  EXPECT_EQ(ref->org, "nim");
  EXPECT_EQ(ref->team, "meta");
  EXPECT_EQ(ref->model, "llama-3.1-8b-instruct");
  EXPECT_EQ(ref->repo, "nim/meta/llama-3.1-8b-instruct");
  EXPECT_EQ(ref->revision, "0.12.0+b1a2c3d4-h100x1-fp8-throughput");
  EXPECT_EQ(ref->file, "rank0.engine");
  auto org_level = parse_source_uri("ngc://nvidia/model:1.0?file=sub%2Fa.bin");
  ASSERT_TRUE(org_level.ok());
  EXPECT_EQ(org_level->team, "");
  EXPECT_EQ(org_level->file, "sub/a.bin");
  auto whole = parse_source_uri("ngc://nim/meta/llama-3.3-70b-instruct:hf");
  ASSERT_TRUE(whole.ok());
  EXPECT_TRUE(whole->file.empty());
}

TEST(SourceUri, HuggingFaceDefaultsToMain) {
  auto ref = parse_source_uri("hf://BAAI/bge-small-en-v1.5?file=1_Pooling/config.json");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->kind, SourceKind::kHuggingFace);
  EXPECT_EQ(ref->repo, "BAAI/bge-small-en-v1.5");
  EXPECT_EQ(ref->revision, "main");
  EXPECT_EQ(ref->file, "1_Pooling/config.json");
  auto pinned = parse_source_uri("hf://gpt2:refs/pr/1?file=config.json");
  ASSERT_TRUE(pinned.ok());
  EXPECT_EQ(pinned->repo, "gpt2");
  EXPECT_EQ(pinned->revision, "refs/pr/1");
}

TEST(SourceUri, PlainAndLocal) {
  auto https = parse_source_uri("https://host:8443/models/a.bin?X-Amz-Signature=abc");
  ASSERT_TRUE(https.ok());
  EXPECT_EQ(https->kind, SourceKind::kHttp);
  auto local = parse_source_uri("file:///data/model.bin");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->kind, SourceKind::kLocal);
  EXPECT_EQ(local->url, "/data/model.bin");
  auto relative = parse_source_uri("weights/model.bin");
  ASSERT_TRUE(relative.ok());
  EXPECT_EQ(relative->url, "weights/model.bin");
}

TEST(SourceUri, RefusesHostileAndUnsupported) {
  for (const char* bad : {"ngc://nim/meta/m?file=x", "ngc://nim/../m:1?file=x", "ngc://nim/meta/m:1?file=../../etc/passwd",
                          "ngc://nim/meta/m:1?file=/etc/passwd", "hf://org/name?file=a/../../b", "hf://a/b/c?file=x",
                          "hf://org/na--me?file=x", "ngc://nim/meta/m:1?file=x&other=1", "ftp://host/x", "file://relative",
                          "ngc://nim/meta/m:../x?file=a", "hf://org/config..json?file=x"}) {
    EXPECT_FALSE(parse_source_uri(bad).ok()) << bad;
  }
  auto oci = parse_source_uri("oci://registry/models/x:1");
  ASSERT_FALSE(oci.ok());
  EXPECT_EQ(oci.error().code(), ErrorCode::kUnsupported);
  EXPECT_NE(oci.error().message().find("not supported yet by download-to-cache: oci"), std::string::npos) << oci.error().message();
  EXPECT_EQ(parse_source_uri("hf://datasets/org/x?file=a").error().code(), ErrorCode::kUnsupported);
}

TEST(SourceUri, ObjectStoreSourcesNameOneObject) {
  auto s3 = parse_source_uri("s3://bucket/models/llama/model%20a.safetensors");
  ASSERT_TRUE(s3.ok()) << s3.error().message();
  EXPECT_EQ(s3->kind, SourceKind::kStore);
  EXPECT_EQ(s3->store_backend, "s3");
  EXPECT_EQ(s3->store_folder, "s3://bucket/models/llama/");
  EXPECT_EQ(s3->store_key, "model a.safetensors");
  auto top = parse_source_uri("s3://bucket/config.json");
  ASSERT_TRUE(top.ok()) << top.error().message();
  EXPECT_EQ(top->store_folder, "s3://bucket/");
  EXPECT_EQ(top->store_key, "config.json");
  // Plain web servers and local paths keep their own kinds.
  EXPECT_EQ(parse_source_uri("https://host/x.bin")->kind, SourceKind::kHttp);
  EXPECT_EQ(parse_source_uri("file:///data/x.bin")->kind, SourceKind::kLocal);
  for (const char* bad : {"s3://bucket", "s3://bucket/", "s3://bucket/models/", "s3://bucket/a/%2e%2e", "s3://bucket/a/%2Fetc"}) {
    EXPECT_FALSE(parse_source_uri(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace airlock::fetch
