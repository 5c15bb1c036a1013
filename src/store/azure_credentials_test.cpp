#include "store/azure_credentials.h"

#include <gtest/gtest.h>

#include "core/base64.h"
#include "core/hash.h"
#include "store/azure_store.h"

namespace airlock::store {
namespace {

TEST(AzureSharedKey, StringToSignFollowsTheDocumentedLayout) {
  net::OutgoingRequest list;
  list.method = "GET";
  list.url =
      "http://127.0.0.1:10000/devstoreaccount1/models?restype=container&comp=list&prefix=a%2Fb%20c%2F&maxresults=2";
  list.headers.set("x-ms-version", "2025-11-05");
  list.headers.set("X-MS-Date", "Sun, 11 Oct 2009 21:49:13 GMT");
  // Twelve standard header lines (empty when absent), x-ms-* lower-cased and sorted, then the
  // resource: on the emulator the account appears twice; query names sorted, values decoded.
  EXPECT_EQ(azure_shared_key_string_to_sign(list, "devstoreaccount1"),
            "GET\n\n\n\n\n\n\n\n\n\n\n\n"
            "x-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\nx-ms-version:2025-11-05\n"
            "/devstoreaccount1/devstoreaccount1/models\ncomp:list\nmaxresults:2\nprefix:a/b c/\nrestype:container");

  net::OutgoingRequest put;
  put.method = "PUT";
  put.url = "https://acct.blob.core.windows.net/models/m/a%20b.bin?comp=block&blockid=YWJj";
  put.body_size = 5;
  put.headers.set("Content-Type", "application/octet-stream");
  put.headers.set("x-ms-meta-sha256", "  abc   def ");
  put.headers.set("Range", "bytes=0-4");
  EXPECT_EQ(azure_shared_key_string_to_sign(put, "acct"),
            "PUT\n\n\n5\n\napplication/octet-stream\n\n\n\n\n\nbytes=0-4\n"
            "x-ms-meta-sha256:abc def\n/acct/models/m/a%20b.bin\nblockid:YWJj\ncomp:block");
  // A zero Content-Length is an empty line (versions since 2015-02-21).
  net::OutgoingRequest empty = put;
  empty.body_size = 0;
  EXPECT_NE(azure_shared_key_string_to_sign(empty, "acct").find("PUT\n\n\n\n"), std::string::npos);
}

TEST(AzureSharedKey, SigningAddsDateAndAuthorization) {
  net::OutgoingRequest request;
  request.method = "HEAD";
  request.url = "https://acct.blob.core.windows.net/c/k";
  request.headers.set("x-ms-version", "2025-11-05");
  const std::string key = "secret-key-bytes";
  const auto when = std::chrono::system_clock::time_point(std::chrono::seconds(1255297753));
  ASSERT_TRUE(azure_shared_key_sign(request, "acct", key, when).ok());
  EXPECT_EQ(request.headers.get("x-ms-date"), "Sun, 11 Oct 2009 21:49:13 GMT");
  const std::string expected =
      "SharedKey acct:" + base64_encode(hmac_sha256(key, azure_shared_key_string_to_sign(request, "acct")));
  EXPECT_EQ(request.headers.get("Authorization"), expected);
}

TEST(AzureConnectionStrings, TheFormsThePortalAndTheEmulatorUse) {
  auto account = parse_azure_connection_string(
      "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=YWJjZA==;EndpointSuffix=core.chinacloudapi.cn");
  ASSERT_TRUE(account.ok()) << account.error().message();
  EXPECT_EQ(account->account, "acct");
  EXPECT_EQ(account->key, "YWJjZA==");
  EXPECT_EQ(account->blob_endpoint, "https://acct.blob.core.chinacloudapi.cn");
  auto sas = parse_azure_connection_string(
      "BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2020-12-06&sig=abc%3D");
  ASSERT_TRUE(sas.ok());
  EXPECT_EQ(sas->sas, "sv=2020-12-06&sig=abc%3D");
  EXPECT_EQ(sas->blob_endpoint, "https://acct.blob.core.windows.net");
  auto emulator = parse_azure_connection_string("UseDevelopmentStorage=true");
  ASSERT_TRUE(emulator.ok());
  EXPECT_EQ(emulator->account, "devstoreaccount1");
  EXPECT_EQ(emulator->blob_endpoint, "http://127.0.0.1:10000/devstoreaccount1");
  EXPECT_FALSE(parse_azure_connection_string("AccountName=acct").ok());
  EXPECT_FALSE(parse_azure_connection_string("garbage").ok());
}

TEST(AzureUris, AccountContainerAndPrefix) {
  auto uri = parse_uri("https://acct.blob.core.windows.net/models/llama/3.1");
  ASSERT_TRUE(uri.ok());
  auto target = parse_azure_uri(*uri, "");
  ASSERT_TRUE(target.ok()) << target.error().message();
  EXPECT_EQ(target->account, "acct");
  EXPECT_EQ(target->container, "models");
  EXPECT_EQ(target->prefix, "llama/3.1/");
  EXPECT_EQ(target->endpoint, "https://acct.blob.core.windows.net");
  auto overridden = parse_azure_uri(*uri, "http://127.0.0.1:10000/acct/");
  ASSERT_TRUE(overridden.ok());
  EXPECT_EQ(overridden->endpoint, "http://127.0.0.1:10000/acct");
  EXPECT_FALSE(parse_azure_uri(*parse_uri("https://acct.blob.core.windows.net/Bad_Container/x"), "").ok());
}

TEST(AzureStoreParsing, ListBlobsAnswer) {
  auto parsed = parse_azure_list(R"(<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="https://acct.blob.core.windows.net/" ContainerName="models">
  <Prefix>m/</Prefix><MaxResults>2</MaxResults><Delimiter>/</Delimiter>
  <Blobs>
    <Blob><Name>m/config.json</Name><Properties><Content-Length>42</Content-Length><Etag>0x8D9F</Etag></Properties></Blob>
    <BlobPrefix><Name>m/blobs/</Name></BlobPrefix>
  </Blobs>
  <NextMarker>2!80!MDAwMDE0</NextMarker>
</EnumerationResults>)");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(parsed->objects.size(), 1u);
  EXPECT_EQ(parsed->objects[0].key, "m/config.json");
  EXPECT_EQ(parsed->objects[0].size, 42u);
  EXPECT_EQ(parsed->prefixes, std::vector<std::string>{"m/blobs/"});
  EXPECT_EQ(parsed->next_marker, "2!80!MDAwMDE0");
  EXPECT_FALSE(
      parse_azure_list("<EnumerationResults><Blobs><Blob><Name>x</Name></Blob></Blobs></EnumerationResults>").ok());
  EXPECT_FALSE(parse_azure_list("<Error><Code>AuthenticationFailed</Code></Error>").ok());
}

}  // namespace
}  // namespace airlock::store
