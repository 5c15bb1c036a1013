#include "store/sigv4.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/hash.h"
#include "core/json.h"
#include "testing.h"

namespace airlock::store {
namespace {
namespace fs = std::filesystem;

const AwsCredentials kExampleCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", {}, "test"};

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A request.txt of the aws-c-auth suite: request line, header lines (a line starting with
// whitespace continues the previous value), a blank line, the body.
struct VectorRequest {
  std::string method;
  std::string path;
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

VectorRequest parse_request(const std::string& text) {
  VectorRequest request;
  std::size_t pos = 0;
  auto next_line = [&](std::string& line) {
    if (pos >= text.size()) return false;
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    pos = end + 1;
    return true;
  };
  std::string line;
  next_line(line);
  auto first_space = line.find(' ');
  auto last_space = line.rfind(' ');
  request.method = line.substr(0, first_space);
  std::string target = line.substr(first_space + 1, last_space - first_space - 1);
  if (auto q = target.find('?'); q != std::string::npos) {
    request.path = target.substr(0, q);
    request.query = target.substr(q + 1);
  } else {
    request.path = target;
  }
  while (next_line(line)) {
    if (line.empty()) break;
    if (line[0] == ' ' || line[0] == '\t') {
      request.headers.back().second += "\n" + line;
      continue;
    }
    auto colon = line.find(':');
    request.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  if (pos < text.size()) request.body = text.substr(pos);
  return request;
}

struct VectorOutcome {
  SigV4Result result;
  std::string expected_canonical;
  std::string expected_string_to_sign;
  std::string expected_signature;
  std::string expected_authorization;
};

VectorOutcome run_vector(const fs::path& dir) {
  VectorOutcome outcome;
  Json context = *parse_json(slurp(dir / "context.json"), "context.json");
  VectorRequest request = parse_request(slurp(dir / "request.txt"));
  AwsCredentials credentials;
  credentials.access_key_id = context["credentials"]["access_key_id"].get<std::string>();
  credentials.secret_access_key = context["credentials"]["secret_access_key"].get<std::string>();
  const bool omit_token = context.value("omit_session_token", false);
  std::string token = context["credentials"].value("token", "");
  // "2015-08-30T12:36:00Z" -> "20150830T123600Z"
  std::string timestamp = context["timestamp"].get<std::string>();
  std::string date_time;
  for (char c : timestamp) {
    if (c != '-' && c != ':') date_time += c;
  }
  SigningInput input;
  input.method = request.method;
  input.path = request.path;
  input.query = request.query;
  input.headers = request.headers;
  input.headers.emplace_back("X-Amz-Date", date_time);
  if (!token.empty() && !omit_token) input.headers.emplace_back("X-Amz-Security-Token", token);
  input.payload_hash = sha256_hex(request.body);
  if (context.value("sign_body", false)) input.headers.emplace_back("X-Amz-Content-Sha256", input.payload_hash);
  SigV4Scope scope{context["region"].get<std::string>(), context["service"].get<std::string>(),
                   context.value("normalize", true)};
  outcome.result = sigv4_sign(input, credentials, scope, date_time);
  outcome.expected_canonical = slurp(dir / "header-canonical-request.txt");
  outcome.expected_string_to_sign = slurp(dir / "header-string-to-sign.txt");
  outcome.expected_signature = slurp(dir / "header-signature.txt");
  std::string signed_request = slurp(dir / "header-signed-request.txt");
  auto auth = signed_request.find("Authorization:");
  if (auth != std::string::npos) {
    auto end = signed_request.find('\n', auth);
    outcome.expected_authorization = signed_request.substr(auth + 14, end - auth - 14);
    while (!outcome.expected_authorization.empty() && outcome.expected_authorization.back() == '\r') {
      outcome.expected_authorization.pop_back();
    }
  }
  auto strip = [](std::string& s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  };
  strip(outcome.expected_signature);
  return outcome;
}

TEST(StoreSigV4, PublishedSuiteHeaderSigning) {
  auto testdata = testing::shared_testdata();
  if (!testdata || !fs::exists(*testdata / "aws-sigv4" / "v4")) {
    GTEST_SKIP() << "SKIPPED the AWS SigV4 test suite: ../shared/testdata/aws-sigv4 is not present (it is in CI)";
  }
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(*testdata / "aws-sigv4" / "v4")) {
    if (!fs::exists(entry.path() / "header-canonical-request.txt")) continue;
    SCOPED_TRACE(entry.path().filename().string());
    VectorOutcome outcome = run_vector(entry.path());
    EXPECT_EQ(outcome.result.canonical_request, outcome.expected_canonical);
    EXPECT_EQ(outcome.result.string_to_sign, outcome.expected_string_to_sign);
    EXPECT_EQ(outcome.result.signature, outcome.expected_signature);
    EXPECT_EQ(outcome.result.authorization, outcome.expected_authorization);
    ++cases;
  }
  EXPECT_GE(cases, 30) << "fewer header-signing cases than the suite has";
}

// get-vanilla from the suite, written in so that the test stands without the shared folder.
TEST(StoreSigV4, VanillaGetStandsAlone) {
  SigningInput input{"GET",
                     "/",
                     "",
                     {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}},
                     std::string(kEmptyPayloadSha256)};
  SigV4Result result = sigv4_sign(input, kExampleCredentials, {"us-east-1", "service", true}, "20150830T123600Z");
  EXPECT_EQ(result.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(StoreSigV4, S3PathsAreEncodedOnceAndNotNormalized) {
  EXPECT_EQ(sigv4_canonical_uri("/bucket/a b/../c+d=e", false), "/bucket/a%20b/../c%2Bd%3De");
  // An already encoded key is not encoded twice.
  EXPECT_EQ(sigv4_canonical_uri("/bucket/a%20b/c%2Bd", false), "/bucket/a%20b/c%2Bd");
  EXPECT_EQ(sigv4_canonical_uri("/bucket//x", false), "/bucket//x");
  EXPECT_EQ(sigv4_canonical_uri("", false), "/");
}

TEST(StoreSigV4, QueryWithPlusAndSlashInContinuationToken) {
  // ListObjectsV2 tokens carry '+', '/' and '='; they must be signed as %2B, %2F, %3D.
  EXPECT_EQ(sigv4_canonical_query("list-type=2&continuation-token=a%2Bb%2Fc%3D&prefix=m%2F"),
            "continuation-token=a%2Bb%2Fc%3D&list-type=2&prefix=m%2F");
  EXPECT_EQ(sigv4_canonical_query("uploads"), "uploads=");
  EXPECT_EQ(sigv4_canonical_query("b=2&a=1&a=0"), "a=0&a=1&b=2");
}

TEST(StoreSigV4, SignRequestAddsEveryAmzHeader) {
  net::OutgoingRequest request;
  request.method = "GET";
  request.url = "http://127.0.0.1:9000/bucket/key%20x?list-type=2";
  request.headers.set("Range", "bytes=0-9");
  AwsCredentials credentials = kExampleCredentials;
  credentials.session_token = "token-value-123";
  ASSERT_TRUE(sigv4_sign_request(request, credentials, {"us-east-1", "s3", false}).ok());
  EXPECT_EQ(request.headers.get("x-amz-content-sha256").value_or(""), kEmptyPayloadSha256);
  EXPECT_EQ(request.headers.get("x-amz-security-token").value_or(""), "token-value-123");
  std::string auth = request.headers.get("Authorization").value_or("");
  EXPECT_NE(auth.find("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date;x-amz-security-token"),
            std::string::npos)
      << auth;
  EXPECT_NE(auth.find("Credential=AKIDEXAMPLE/"), std::string::npos);
}

TEST(StoreSigV4, DefaultPortIsLeftOutOfHost) {
  net::OutgoingRequest a;
  a.method = "GET";
  a.url = "https://bucket.s3.amazonaws.com:443/k";
  net::OutgoingRequest b = a;
  b.url = "https://bucket.s3.amazonaws.com/k";
  auto now = std::chrono::system_clock::now();
  ASSERT_TRUE(sigv4_sign_request(a, kExampleCredentials, {"us-east-1", "s3", false}, now).ok());
  ASSERT_TRUE(sigv4_sign_request(b, kExampleCredentials, {"us-east-1", "s3", false}, now).ok());
  EXPECT_EQ(a.headers.get("Authorization"), b.headers.get("Authorization"));
}

}  // namespace
}  // namespace airlock::store
