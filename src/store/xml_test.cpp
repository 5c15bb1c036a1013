#include "store/xml.h"

#include <gtest/gtest.h>

#include "store/s3_store.h"

namespace airlock::store {
namespace {

TEST(StoreXml, ParsesAnS3Listing) {
  auto parsed = parse_list_objects_v2(R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>m/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>
  <Contents><Key>m/a%20b%2Bc</Key><Size>10</Size><ETag>&quot;abc&quot;</ETag></Contents>
  <Contents><Key>m/%C3%BC</Key><Size>0</Size></Contents>
  <CommonPrefixes><Prefix>m/sub%2F</Prefix></CommonPrefixes>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>)");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(parsed->objects.size(), 2u);
  EXPECT_EQ(parsed->objects[0].key, "m/a b+c");
  EXPECT_EQ(parsed->objects[0].etag, "abc");
  EXPECT_EQ(parsed->objects[0].size, 10u);
  EXPECT_EQ(parsed->objects[1].key, "m/\xc3\xbc");
  EXPECT_EQ(parsed->prefixes, std::vector<std::string>{"m/sub/"});
  EXPECT_TRUE(parsed->truncated);
  EXPECT_EQ(parsed->next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST(StoreXml, EntitiesCdataAndComments) {
  auto doc =
      parse_xml("<a><!-- c --><b x='1' y=\"&gt;\">1 &lt; 2 &amp;&#65;&#x42;</b><c><![CDATA[<raw>]]></c><d/></a>");
  ASSERT_TRUE(doc.ok()) << doc.error().message();
  EXPECT_EQ(doc->child_text("b"), "1 < 2 &AB");
  EXPECT_EQ(doc->child_text("c"), "<raw>");
  EXPECT_NE(doc->child("d"), nullptr);
  EXPECT_EQ(doc->child("e"), nullptr);
}

TEST(StoreXml, RejectsWhatAServerMustNotSend) {
  EXPECT_FALSE(parse_xml("<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>").ok()) << "no DTDs, no entity expansion";
  EXPECT_FALSE(parse_xml("<a><b></a></b>").ok());
  EXPECT_FALSE(parse_xml("<a>").ok());
  EXPECT_FALSE(parse_xml("<a>&unknown;</a>").ok());
  EXPECT_FALSE(parse_xml("<a>&#0;</a>").ok());
  EXPECT_FALSE(parse_xml("<a></a><b></b>").ok());
  EXPECT_FALSE(parse_xml("").ok());
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "<x>";
  EXPECT_FALSE(parse_xml(deep).ok());
  EXPECT_FALSE(parse_list_objects_v2("<Error><Code>AccessDenied</Code></Error>").ok());
  EXPECT_FALSE(
      parse_list_objects_v2("<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>")
          .ok());
}

TEST(StoreXml, EscapesText) {
  EXPECT_EQ(xml_escape("<a & \"b\">'"), "&lt;a &amp; &quot;b&quot;&gt;&apos;");
}

}  // namespace
}  // namespace airlock::store
