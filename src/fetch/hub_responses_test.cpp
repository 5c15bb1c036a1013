#include "fetch/hub_responses.h"

#include <gtest/gtest.h>

namespace airlock::fetch {
namespace {

TEST(HubResponses, NgcV2AndV1Pages) {
  auto v2 = parse_ngc_file_page(R"({"requestStatus":{"statusCode":"SUCCESS"},"paginationInfo":{"totalPages":3},
      "modelVersion":{"storageVersion":"V2"},"modelFiles":[{"path":"config.json","sizeInBytes":12},{"path":"a/b.bin"}]})",
                                "t");
  ASSERT_TRUE(v2.ok()) << v2.error().message();
  EXPECT_EQ(v2->total_pages, 3);
  ASSERT_EQ(v2->files.size(), 2u);
  EXPECT_EQ(v2->files[0].size.value_or(0), 12u);
  EXPECT_FALSE(v2->files[1].size.has_value());
  auto v1 = parse_ngc_file_page(R"({"urls":["https://cdn/x?sig=1"],"filepath":["x.bin"]})", "t");
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->files[0].presigned_url, "https://cdn/x?sig=1");
  for (const char* bad : {R"({"modelFiles":[{"path":"../x"}]})", R"({"urls":["https://a"],"filepath":[]})",
                          R"({"urls":["file:///etc/passwd"],"filepath":["x"]})", R"([1])", R"({})",
                          R"({"requestStatus":{"statusCode":"FORBIDDEN"},"modelFiles":[]})"}) {
    EXPECT_FALSE(parse_ngc_file_page(bad, "t").ok()) << bad;
  }
  auto token = parse_ngc_token(R"({"token":"abc.def","expires_in":900})", "t");
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->expires_in.value_or(0), 900);
  EXPECT_FALSE(parse_ngc_token(R"({"token":""})", "t").ok());
}

TEST(HubResponses, HuggingFaceRevisionAndTree) {
  std::string sha(40, 'a');
  std::string blob(40, 'b');
  std::string lfs(64, 'c');
  auto info = parse_hf_revision_info(R"({"sha":")" + sha + R"(","siblings":[{"rfilename":"config.json","size":10,"blobId":")" +
                                         blob + R"("},{"rfilename":"model.safetensors","size":132,"blobId":")" + blob +
                                         R"(","lfs":{"sha256":")" + lfs + R"(","size":5000,"pointerSize":132}}]})",
                                     "t");
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_EQ(info->sha, sha);
  EXPECT_TRUE(info->sizes_known);
  EXPECT_EQ(info->siblings[1].lfs_sha256.value_or(""), lfs);
  EXPECT_EQ(info->siblings[1].size.value_or(0), 5000u);  // the LFS size, not the pointer's
  auto bare = parse_hf_revision_info(R"({"sha":")" + sha + R"(","siblings":[{"rfilename":"x"}]})", "t");
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(bare->sizes_known);
  auto tree = parse_hf_tree_page(R"([{"type":"directory","path":"a","oid":")" + blob + R"("},{"type":"file","path":"a/b","size":3,"oid":")" +
                                     blob + R"("},{"type":"file","path":"w","size":1,"oid":")" + blob + R"(","lfs":{"oid":")" + lfs +
                                     R"(","size":7}}])",
                                 "t");
  ASSERT_TRUE(tree.ok()) << tree.error().message();
  ASSERT_EQ(tree->size(), 2u);
  EXPECT_EQ((*tree)[1].size.value_or(0), 7u);
  for (const std::string& bad : {std::string(R"({"sha":"xyz"})"), R"({"sha":")" + sha + R"(","siblings":[{"rfilename":"../x"}]})",
                                 R"({"sha":")" + sha + R"(","siblings":[{"rfilename":"x","lfs":{"sha256":"short"}}]})"}) {
    EXPECT_FALSE(parse_hf_revision_info(bad, "t").ok()) << bad;
  }
}

TEST(HubResponses, LinkAndEtag) {
  EXPECT_EQ(parse_link_next(R"(<https://hub/api/models/a/b/tree/main?cursor=xyz>; rel="next")").value_or(""),
            "https://hub/api/models/a/b/tree/main?cursor=xyz");
  EXPECT_EQ(parse_link_next(R"(<https://x/1>; rel="prev", <https://x/3>; rel="next")").value_or(""), "https://x/3");
  EXPECT_FALSE(parse_link_next(R"(<https://x/1>; rel="last")").has_value());
  EXPECT_FALSE(parse_link_next("").has_value());
  EXPECT_EQ(normalize_etag(R"(W/"abc")"), "abc");
  EXPECT_EQ(normalize_etag(R"("abc-3")"), "abc-3");
}

}  // namespace
}  // namespace airlock::fetch
