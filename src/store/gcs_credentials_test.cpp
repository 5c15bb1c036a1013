#include "store/gcs_credentials.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/base64.h"
#include "core/strings.h"
#include "store/gcs_store.h"

namespace airlock::store {
namespace {

std::string base64url_decode(std::string text) {
  for (char& c : text) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (text.size() % 4 != 0) text += '=';
  auto decoded = base64_decode(text);
  return decoded.ok() ? *decoded : std::string();
}

// A fresh RSA key as PEM (what a key file's private_key holds) and its public half.
struct TestKey {
  std::string private_pem;
  EVP_PKEY* key = nullptr;
  ~TestKey() { EVP_PKEY_free(key); }
};

std::unique_ptr<TestKey> make_key() {
  auto out = std::make_unique<TestKey>();
  out->key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  if (out->key == nullptr) return nullptr;
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, out->key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  out->private_pem.assign(data, static_cast<std::size_t>(length));
  BIO_free(bio);
  return out;
}

bool verify_rs256(EVP_PKEY* key, const std::string& input, const std::string& signature) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

TEST(GcsCredentials, ServiceAccountJwtIsRs256WithTheDocumentedClaims) {
  auto key = make_key();
  ASSERT_TRUE(key);
  ServiceAccountKey account{"sa@project.iam.gserviceaccount.com", key->private_pem, "kid-1",
                            std::string(kGoogleTokenUri)};
  const auto issued = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  auto jwt = make_service_account_jwt(account, kGcsReadWriteScope, issued);
  ASSERT_TRUE(jwt.ok()) << jwt.error().message();
  auto parts = split(*jwt, '.');
  ASSERT_EQ(parts.size(), 3u);
  auto header = parse_json(base64url_decode(std::string(parts[0])), "header");
  auto claims = parse_json(base64url_decode(std::string(parts[1])), "claims");
  ASSERT_TRUE(header.ok() && claims.ok());
  EXPECT_EQ((*header)["alg"], "RS256");
  EXPECT_EQ((*header)["typ"], "JWT");
  EXPECT_EQ((*header)["kid"], "kid-1");
  EXPECT_EQ((*claims)["iss"], "sa@project.iam.gserviceaccount.com");
  EXPECT_EQ((*claims)["aud"], "https://oauth2.googleapis.com/token");
  EXPECT_EQ((*claims)["scope"], "https://www.googleapis.com/auth/devstorage.read_write");
  EXPECT_EQ((*claims)["iat"], 1700000000);
  EXPECT_EQ((*claims)["exp"], 1700003600);
  // The signature checks out with the public key (RSASSA-PKCS1-v1_5 over SHA-256).
  const std::string input = std::string(parts[0]) + "." + std::string(parts[1]);
  EXPECT_TRUE(verify_rs256(key->key, input, base64url_decode(std::string(parts[2]))));
  EXPECT_FALSE(verify_rs256(key->key, input + "x", base64url_decode(std::string(parts[2]))));
  // Not a key: an error that never quotes the text.
  ServiceAccountKey broken = account;
  broken.private_key = "-----BEGIN PRIVATE KEY-----\nnot really\n-----END PRIVATE KEY-----\n";
  auto refused = make_service_account_jwt(broken, kGcsReadWriteScope, issued);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message().find("not really"), std::string::npos);
}

TEST(GcsCredentials, KeyFileTypes) {
  auto service = parse_google_key_file(
      Json::parse(R"({"type": "service_account", "client_email": "a@b.c", "private_key": "pem"})"), "k.json");
  ASSERT_TRUE(service.ok());
  ASSERT_TRUE(service->service_account);
  EXPECT_EQ(service->service_account->token_uri, kGoogleTokenUri) << "token_uri defaults to Google's";
  auto user = parse_google_key_file(Json::parse(R"({"type": "authorized_user", "client_id": "id.apps",
      "client_secret": "s3cret-value", "refresh_token": "1//r", "token_uri": "http://127.0.0.1:1/token"})"),
                                    "adc.json");
  ASSERT_TRUE(user.ok());
  ASSERT_TRUE(user->authorized_user);
  EXPECT_EQ(user->authorized_user->token_uri, "http://127.0.0.1:1/token");
  auto external = parse_google_key_file(Json::parse(R"({"type": "external_account"})"), "x.json");
  ASSERT_FALSE(external.ok());
  EXPECT_EQ(external.error().code(), ErrorCode::kUnsupported);
  EXPECT_FALSE(parse_google_key_file(Json::parse(R"({"client_email": "a@b"})"), "y.json").ok());
  EXPECT_FALSE(parse_google_key_file(Json::parse(R"({"type": "service_account"})"), "z.json").ok());
}

TEST(GcsCredentials, Base64UrlHasNoPadding) {
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_encode("a"), "YQ");
}

TEST(GcsStore, ParsesAListingAsTheJsonApiDocumentsIt) {
  auto parsed = parse_gcs_list(R"({"kind": "storage#objects", "prefixes": ["m/blobs/"],
      "items": [{"kind": "storage#object", "name": "m/config.json", "size": "1234", "etag": "CJD",
                 "metadata": {"sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}},
                {"kind": "storage#object", "name": "m/x", "size": "0"}],
      "nextPageToken": "CgVtb2RlbA=="})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(parsed->objects.size(), 2u);
  EXPECT_EQ(parsed->objects[0].key, "m/config.json");
  EXPECT_EQ(parsed->objects[0].size, 1234u);
  EXPECT_TRUE(parsed->objects[0].sha256.has_value());
  EXPECT_FALSE(parsed->objects[1].sha256.has_value());
  EXPECT_EQ(parsed->prefixes, std::vector<std::string>{"m/blobs/"});
  EXPECT_EQ(parsed->next_page_token, "CgVtb2RlbA==");
  EXPECT_FALSE(parse_gcs_list(R"({"items": [{"name": "a", "size": "x"}]})").ok());
  EXPECT_FALSE(parse_gcs_list(R"({"items": {}})").ok());
  auto empty = parse_gcs_list(R"({"kind": "storage#objects"})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->objects.empty());
}

TEST(GcsStore, ResumableUploadRangesAndChunks) {
  EXPECT_EQ(*gcs_persisted_bytes(std::nullopt), 0u);
  EXPECT_EQ(*gcs_persisted_bytes(std::string("bytes=0-262143")), 262144u);
  EXPECT_FALSE(gcs_persisted_bytes(std::string("bytes=5-9")).ok());
  EXPECT_FALSE(gcs_persisted_bytes(std::string("bytes=0-")).ok());
  EXPECT_EQ(gcs_chunk_size(1), 256u * 1024);
  EXPECT_EQ(gcs_chunk_size(8 * 1024 * 1024) % (256 * 1024), 0u);
}

TEST(GcsStore, BucketNamesAndEndpoints) {
  EXPECT_TRUE(validate_gcs_bucket_name("my-models_1").ok());
  EXPECT_TRUE(validate_gcs_bucket_name("models.example.com").ok());
  EXPECT_FALSE(validate_gcs_bucket_name("ab").ok());
  EXPECT_FALSE(validate_gcs_bucket_name("Models").ok());
  EXPECT_FALSE(validate_gcs_bucket_name("-models").ok());
  ::unsetenv("STORAGE_EMULATOR_HOST");
  EXPECT_EQ(resolve_gcs_settings("")->endpoint, "https://storage.googleapis.com");
  EXPECT_EQ(resolve_gcs_settings("http://127.0.0.1:4443/")->endpoint, "http://127.0.0.1:4443");
  ::setenv("STORAGE_EMULATOR_HOST", "localhost:9023", 1);
  auto emulator = resolve_gcs_settings("");
  ::unsetenv("STORAGE_EMULATOR_HOST");
  ASSERT_TRUE(emulator.ok());
  EXPECT_EQ(emulator->endpoint, "http://localhost:9023");
  EXPECT_TRUE(emulator->emulator);
}

}  // namespace
}  // namespace airlock::store
