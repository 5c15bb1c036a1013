#include "manager/ai_model.h"

#include <gtest/gtest.h>

namespace airlock::manager {
namespace {

Json parse(const char* text) { return parse_json(text, "test").value(); }

TEST(ModelProfilesPath, AcceptsTheSixStoreFormsAndFile) {
  for (const char* uri : {"s3://models-bucket/caches/bge", "gs://my_bucket.example/prefix", "hdfs://namenode:8020/models/x",
                          "webhdfs://namenode:9870/models/x", "https://acct.blob.core.windows.net/container/caches/x",
                          "https://mirror.example.com/models/x", "file:///srv/stores/x", ""}) {
    EXPECT_TRUE(validate_model_profiles_path(uri).ok()) << uri << ": " << validate_model_profiles_path(uri).error().message();
  }
}

TEST(ModelProfilesPath, RefusesWhatIsNotAStorePathWithAClearReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"ftp://host/x", "not a store form"},
      {"relative/path", "needs a scheme"},
      {"/abs/path", "needs a scheme"},
      {"http://host/x", "plain http"},
      {"s3://bad%21bucket/x", "bucket"},
      {"s3:///no-bucket", "bucket"},
      {"https://user:secret@host/x", "credentials"},
      {"https://acct.blob.core.windows.net/c/x?sv=2020&sig=abc", "query"},
      {"https://acct.blob.core.windows.net/", "container"},
      {"hdfs:///path-only", "namenode"},
      {"webhdfs://nn:9870", "no path"},
      {"s3://bucket/a/../b", "'..'"},
  };
  for (const auto& [uri, expected] : cases) {
    Status status = validate_model_profiles_path(uri);
    ASSERT_FALSE(status.ok()) << uri;
    EXPECT_NE(status.error().message().find(expected), std::string::npos) << uri << ": " << status.error().message();
    // The error never repeats a secret.
    EXPECT_EQ(status.error().message().find("secret@"), std::string::npos);
  }
}

TEST(ImageUrl, FollowsTheReferenceGrammar) {
  for (const char* image : {"nvcr.io/nim/nvidia/nvclip:latest", "registry.local:5000/nim/model:1.8.5", "airlock:0.1.0",
                            "ubuntu", "a/b/c@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}) {
    EXPECT_TRUE(validate_image_url(image).ok()) << image;
  }
  for (const char* image : {"", "https://nvcr.io/nim/x:1", "Upper/Case:1", "has space:1", "x:", "x@sha256:short"}) {
    EXPECT_FALSE(validate_image_url(image).ok()) << image;
  }
  EXPECT_NE(validate_image_url("https://nvcr.io/x").error().message().find("without a scheme"), std::string::npos);
}

TEST(Compute, QuantitiesAndImpossibleRequests) {
  EXPECT_EQ(parse_cpu_quantity("2").value(), 2000);
  EXPECT_EQ(parse_cpu_quantity("500m").value(), 500);
  EXPECT_EQ(parse_cpu_quantity("1.5").value(), 1500);
  EXPECT_EQ(parse_memory_quantity("16Gi").value(), 16ull << 30);
  EXPECT_EQ(parse_memory_quantity("1G").value(), 1'000'000'000ull);
  EXPECT_FALSE(parse_memory_quantity("16GB").ok());
  EXPECT_FALSE(parse_cpu_quantity("two").ok());

  Compute ok{"l40s", 2, "8", "32Gi"};
  ASSERT_TRUE(validate_compute(ok, ModelRuntime::kNim).ok());
  EXPECT_EQ(ok.gpu_type, "L40S");  // normalised to the table's short name

  const std::pair<Compute, const char*> bad[] = {
      {Compute{"H100", 9, "8", "32Gi"}, "at most 8 GPUs"},
      {Compute{"H100", 0, "8", "32Gi"}, "gpuCount 0"},
      {Compute{"Voodoo5", 1, "8", "32Gi"}, "unknown gpuType"},
      {Compute{"", 0, "0", "32Gi"}, "cpu '0' is impossible"},
      {Compute{"", 0, "2", "1Mi"}, "memory '1Mi' is impossible"},
      {Compute{"", 0, "2", "64Ti"}, "impossible"},
  };
  for (const auto& [compute, expected] : bad) {
    Compute copy = compute;
    Status status = validate_compute(copy, ModelRuntime::kAirlock);
    ASSERT_FALSE(status.ok()) << expected;
    EXPECT_NE(status.error().message().find(expected), std::string::npos) << status.error().message();
  }
  Compute cpu_only{"", 0, "8", "32Gi"};
  EXPECT_NE(validate_compute(cpu_only, ModelRuntime::kNim).error().message().find("NIM images need at least one GPU"),
            std::string::npos);
}

TEST(CreateBody, DefaultsAndStrictness) {
  CreateDefaults defaults{"airlock:9.9"};
  auto model = model_from_create_body(parse(R"({"name": "bge-small", "kind": "embedding",
      "modelProfilesPath": "s3://bucket/bge", "replicas": 2})"),
                                      defaults);
  ASSERT_TRUE(model.ok()) << model.error().message();
  EXPECT_EQ(model->image_url, "airlock:9.9");
  EXPECT_EQ(model->runtime(), ModelRuntime::kAirlock);
  EXPECT_EQ(model->replicas, 2);
  EXPECT_TRUE(model->deployable());

  auto nim = model_from_create_body(parse(R"({"name": "llm", "kind": "llm", "imageUrl": "nvcr.io/nim/meta/llama:1"})"), defaults);
  ASSERT_TRUE(nim.ok()) << nim.error().message();
  EXPECT_EQ(nim->runtime(), ModelRuntime::kNim);
  EXPECT_EQ(nim->compute.gpu_count, 1);  // NIM images get a GPU unless told otherwise
  EXPECT_FALSE(nim->deployable());

  const std::pair<const char*, const char*> bad[] = {
      {R"({"name": "x", "kind": "embedding", "colour": "red"})", "unknown field 'colour'"},
      {R"({"kind": "embedding"})", "'name' is required"},
      {R"({"name": "x"})", "'kind' is required"},
      {R"({"name": "X_Y", "kind": "embedding"})", "lowercase"},
      {R"({"name": "x", "kind": "chat"})", "unknown kind"},
      {R"({"name": "x", "kind": "llm"})", "'imageUrl' is required"},
      {R"({"name": "x", "kind": "llm", "imageUrl": "airlock:1"})", "embedding and reranker"},
      {R"({"name": "x", "kind": "embedding", "replicas": -1})", "between 0 and 64"},
      {R"({"name": "x", "kind": "embedding", "replicas": 1.5})", "whole number"},
      {R"({"name": "x", "kind": "embedding", "compute": {"gpus": 1}})", "unknown field 'gpus' in compute"},
      {R"({"name": "x", "kind": "embedding", "modelProfilesPath": "ftp://x/y"})", "not a store form"},
      {R"([1, 2])", "JSON object"},
  };
  for (const auto& [body, expected] : bad) {
    auto result = model_from_create_body(parse(body), defaults);
    ASSERT_FALSE(result.ok()) << body;
    EXPECT_NE(result.error().message().find(expected), std::string::npos) << body << ": " << result.error().message();
  }
}

TEST(PatchBody, ChangesWhatMayChangeAndSaysWhatNeedsARedeploy) {
  AiModel model = model_from_create_body(parse(R"({"name": "e", "kind": "embedding"})"), {"airlock:1"}).value();
  auto redeploy = apply_model_patch(model, parse(R"({"description": "new words"})"));
  ASSERT_TRUE(redeploy.ok());
  EXPECT_FALSE(*redeploy);
  EXPECT_EQ(model.description, "new words");
  redeploy = apply_model_patch(model, parse(R"({"imageUrl": "registry.local:5000/airlock:1", "compute": {"cpu": 4}})"));
  ASSERT_TRUE(redeploy.ok()) << redeploy.error().message();
  EXPECT_TRUE(*redeploy);
  EXPECT_EQ(model.image_url, "registry.local:5000/airlock:1");
  EXPECT_EQ(model.compute.cpu, "4");
  EXPECT_EQ(model.compute.memory, "4Gi");  // untouched fields of compute stay

  const AiModel before = model;
  for (const auto& [body, expected] : std::vector<std::pair<const char*, const char*>>{
           {R"({"name": "other"})", "cannot be changed"},
           {R"({"status": "Ready"})", "read-only"},
           {R"({"bogus": 1})", "unknown field"},
           {R"({"imageUrl": "nvcr.io/nim/x:1"})", "NIM images need at least one GPU"},
           {R"({"compute": {"gpuCount": 100}})", "impossible"}}) {
    auto result = apply_model_patch(model, parse(body));
    ASSERT_FALSE(result.ok()) << body;
    EXPECT_NE(result.error().message().find(expected), std::string::npos) << result.error().message();
  }
  // A refused patch changes nothing.
  EXPECT_EQ(model.image_url, before.image_url);
  EXPECT_EQ(model.compute, before.compute);
}

TEST(KubernetesName, IsADns1035Label) {
  AiModel model;
  model.name = "llama-3.3-nemotron-super-49b-v1";
  EXPECT_EQ(model.kubernetes_name(), "llama-3-3-nemotron-super-49b-v1");
  model.name = "3d-model";
  EXPECT_EQ(model.kubernetes_name(), "m-3d-model");
  model.name = std::string(63, 'a');
  EXPECT_LE(model.kubernetes_name().size(), 42u);
}

}  // namespace
}  // namespace airlock::manager
