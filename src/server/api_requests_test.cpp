#include "server/api_requests.h"

#include <gtest/gtest.h>

namespace airlock::server {
namespace {

template <typename T>
const T& ok(const Parsed<T>& parsed) {
  if (const auto* e = std::get_if<ApiError>(&parsed)) ADD_FAILURE() << e->message;
  return std::get<T>(parsed);
}

template <typename T>
ApiError failed(const Parsed<T>& parsed) {
  EXPECT_TRUE(std::holds_alternative<ApiError>(parsed));
  return std::holds_alternative<ApiError>(parsed) ? std::get<ApiError>(parsed) : ApiError{};
}

TEST(EmbeddingsRequest, AcceptsEveryInputForm) {
  RequestLimits limits;
  auto one = parse_embeddings_request(R"({"input":"hello","model":"m"})", limits);
  EXPECT_EQ(ok(one).texts, std::vector<std::string>{"hello"});
  EXPECT_EQ(ok(one).model, "m");
  auto many = parse_embeddings_request(R"({"input":["a","b"],"encoding_format":"base64","user":"u"})", limits);
  EXPECT_EQ(ok(many).texts.size(), 2u);
  EXPECT_EQ(ok(many).encoding_format, EncodingFormat::kBase64);
  auto ids = parse_embeddings_request(R"({"input":[1,2,3]})", limits);
  EXPECT_TRUE(ok(ids).tokens);
  EXPECT_EQ(ok(ids).token_inputs, (std::vector<std::vector<std::int32_t>>{{1, 2, 3}}));
  auto nested = parse_embeddings_request(R"({"input":[[1],[2,3]]})", limits);
  EXPECT_EQ(ok(nested).token_inputs.size(), 2u);
}

TEST(EmbeddingsRequest, ReadsNimFields) {
  auto parsed = parse_embeddings_request(
      R"({"input":"q","input_type":"query","truncate":"END","dimensions":32,"extra":{"ignored":true}})", {});
  EXPECT_EQ(ok(parsed).input_type, engine::InputType::kQuery);
  EXPECT_EQ(ok(parsed).truncate, engine::Truncate::kEnd);
  EXPECT_EQ(ok(parsed).dimensions, 32);
  EXPECT_EQ(ok(parse_embeddings_request(R"({"input":"q"})", {})).truncate, engine::Truncate::kNone);
  EXPECT_EQ(ok(parse_embeddings_request(R"({"input":"q","input_type":"passage","truncate":"start"})", {})).truncate,
            engine::Truncate::kStart);
}

TEST(EmbeddingsRequest, NamesTheFieldAtFault) {
  RequestLimits limits;
  struct Case {
    const char* body;
    const char* param;
  };
  for (const Case& c : {Case{R"({"input":["a",3]})", "input[1]"}, Case{R"({"input":{"a":1}})", "input"},
                        Case{R"({"input":"a","model":7})", "model"}, Case{R"({"input":"a","dimensions":"8"})", "dimensions"},
                        Case{R"({"input":"a","dimensions":0})", "dimensions"},
                        Case{R"({"input":"a","encoding_format":"int8"})", "encoding_format"},
                        Case{R"({"input":"a","input_type":"doc"})", "input_type"}, Case{R"({"input":"a","truncate":"MIDDLE"})", "truncate"},
                        Case{R"({"input":[[1],"a"]})", "input[1]"}, Case{R"({"input":[-1]})", "input"},
                        Case{R"({"input":""})", "input"}, Case{R"({"input":[]})", "input"}, Case{R"({})", "input"}}) {
    ApiError e = failed(parse_embeddings_request(c.body, limits));
    EXPECT_EQ(e.status, 400) << c.body;
    EXPECT_EQ(e.param.value_or(""), c.param) << c.body << ": " << e.message;
  }
}

TEST(EmbeddingsRequest, RefusesMalformedBodies) {
  for (std::string body : {std::string(""), std::string("   "), std::string("{"), std::string("[1]"), std::string("null"),
                           std::string("{\"input\":\"\xff\xfe\"}"), std::string("{\"input\":\"a\"} trailing")}) {
    ApiError e = failed(parse_embeddings_request(body, {}));
    EXPECT_EQ(e.status, 400) << body;
    EXPECT_FALSE(e.message.empty());
  }
  // Deep nesting is refused before the parser recurses into it.
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(failed(parse_embeddings_request("{\"input\":" + deep + "}", {})).status, 400);
}

TEST(EmbeddingsRequest, CountsInputsAgainstTheLimit) {
  RequestLimits limits;
  limits.max_inputs = 3;
  EXPECT_EQ(failed(parse_embeddings_request(R"({"input":["a","b","c","d"]})", limits)).status, 413);
  EXPECT_EQ(ok(parse_embeddings_request(R"({"input":["a","b","c"]})", limits)).texts.size(), 3u);
  EXPECT_EQ(failed(parse_embeddings_request(R"({"input":[[1],[2],[3],[4]]})", limits)).status, 413);
  // One token array is one input, whatever its length.
  EXPECT_EQ(ok(parse_embeddings_request(R"({"input":[1,2,3,4,5,6]})", limits)).token_inputs.size(), 1u);
}

TEST(RankingRequest, ParsesNimAndTeiForms) {
  auto nim = parse_ranking_request(
      R"({"model":"r","query":{"text":"q"},"passages":[{"text":"a"},{"text":"b"}],"truncate":"END"})", {});
  EXPECT_EQ(ok(nim).query, "q");
  EXPECT_EQ(ok(nim).passages, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ok(nim).truncate, engine::Truncate::kEnd);
  EXPECT_FALSE(ok(nim).tei);
  auto tei = parse_rerank_request(
      R"({"query":"q","texts":["a"],"truncate":true,"truncation_direction":"Left","raw_scores":true,"return_text":true})", {});
  EXPECT_TRUE(ok(tei).tei);
  EXPECT_EQ(ok(tei).truncate, engine::Truncate::kStart);
  EXPECT_TRUE(ok(tei).raw_scores);
  EXPECT_EQ(failed(parse_ranking_request(R"({"query":"q","passages":[{"text":"a"}]})", {})).param.value_or(""), "query");
  EXPECT_EQ(failed(parse_ranking_request(R"({"query":{"text":"q"},"passages":["a"]})", {})).param.value_or(""), "passages[0]");
  EXPECT_EQ(failed(parse_rerank_request(R"({"query":"q","texts":["a"],"truncate":"yes"})", {})).param.value_or(""), "truncate");
}

TEST(ModelName, SplitsNimSuffixes) {
  EXPECT_EQ(split_model_suffix("e5-query").base, "e5");
  EXPECT_EQ(split_model_suffix("e5-query").input_type, engine::InputType::kQuery);
  EXPECT_EQ(split_model_suffix("e5-passage").input_type, engine::InputType::kPassage);
  EXPECT_FALSE(split_model_suffix("e5").input_type.has_value());
  EXPECT_FALSE(split_model_suffix("-query").input_type.has_value());
}

TEST(JsonDepth, SkipsStrings) {
  EXPECT_EQ(json_nesting_depth(R"({"a":"[[[[","b":[1]})", 10), 2u);
  EXPECT_EQ(json_nesting_depth(R"({"a":"\"[["})", 10), 1u);
}

}  // namespace
}  // namespace airlock::server
