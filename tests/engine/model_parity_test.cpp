// airlock's encoders against a PyTorch reference that mirrors transformers' modeling code, on
// tiny random BERT, RoBERTa and XLM-R checkpoints (make_tiny_models.py): embeddings (mean, CLS,
// CLS+max with a Dense module, prompts, Matryoshka), cross-encoder logits, token states; batches
// of mixed lengths, truncation, F32/F16/BF16 weights, sharded files. fp32 must match to 1e-4
// max abs error on both CPU GEMM libraries; the bf16 path to cosine >= 0.999; int8 to >= 0.99.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>
#include <thread>
#include <vector>

#include "core/file_io.h"
#include "core/json.h"
#include "engine/model.h"
#include "engine_testdata.h"

namespace airlock {
namespace {

using engine::Model;

struct Variant {
  const char* name;
  engine::CpuGemm gemm;
  engine::Precision precision;
  engine::DeviceKind device = engine::DeviceKind::kCpu;
};

// The CUDA variants are instantiated in builds with the CUDA backend and run where there is a GPU
// (bench/gpu-check.sh).
const Variant kVariants[] = {
    {"onednn_fp32", engine::CpuGemm::kOneDnn, engine::Precision::kFloat32},
    {"openblas_fp32", engine::CpuGemm::kOpenBlas, engine::Precision::kFloat32},
    {"onednn_bf16", engine::CpuGemm::kOneDnn, engine::Precision::kBFloat16},
    {"onednn_int8", engine::CpuGemm::kOneDnn, engine::Precision::kInt8},
    {"cuda_fp32", engine::CpuGemm::kOneDnn, engine::Precision::kFloat32, engine::DeviceKind::kCuda},
    {"cuda_fp16", engine::CpuGemm::kOneDnn, engine::Precision::kFloat16, engine::DeviceKind::kCuda},
    {"cuda_bf16", engine::CpuGemm::kOneDnn, engine::Precision::kBFloat16, engine::DeviceKind::kCuda},
};

double cosine(std::span<const float> a, const std::vector<double>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ab += a[i] * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += b[i] * b[i];
  }
  return ab / std::sqrt(aa * bb + 1e-300);
}

class ModelParity : public ::testing::TestWithParam<std::tuple<std::string, int>> {
 protected:
  void SetUp() override {
    std::string why;
    data_ = testing::engine_testdata(&why);
    if (data_ == nullptr) GTEST_SKIP() << "engine test data unavailable: " << why;
    variant_ = kVariants[std::get<1>(GetParam())];
    if (variant_.device == engine::DeviceKind::kCuda && !engine::cuda_backend_available()) {
      GTEST_SKIP() << "no CUDA backend in this build, or no GPU (bench/gpu-check.sh runs these)";
    }
    if (variant_.device == engine::DeviceKind::kCpu && variant_.precision == engine::Precision::kBFloat16 &&
        !engine::cpu_has_bf16()) {
      GTEST_SKIP() << "this CPU has no avx512_bf16";
    }
    if (variant_.precision == engine::Precision::kInt8 && !engine::cpu_has_int8()) {
      GTEST_SKIP() << "this CPU has no VNNI (avx512_vnni or avx_vnni)";
    }
    for (const Json& c : data_->manifest.at("model_cases")) {
      if (c.at("name").get<std::string>() == std::get<0>(GetParam())) case_ = c;
    }
    ASSERT_FALSE(case_.is_null()) << "no model case " << std::get<0>(GetParam());
    auto reference = read_json_file(case_.at("reference").get<std::string>());
    ASSERT_TRUE(reference.ok()) << reference.error().message();
    reference_ = std::move(reference).value();
    engine::LoadOptions options;
    options.backend.gemm = variant_.gemm;
    options.backend.precision = variant_.precision;
    options.backend.device = variant_.device;
    options.backend.threads = 2;
    options.max_batch_tokens = 256;  // several batches per call
    auto model = Model::load(case_.at("dir").get<std::string>(), options);
    ASSERT_TRUE(model.ok()) << model.error().message();
    model_ = std::move(model).value();
  }

  bool fp32() const { return variant_.precision == engine::Precision::kFloat32; }
  // The goals: cosine >= 0.999 for bf16 and fp16, >= 0.99 for int8.
  double min_cosine() const { return variant_.precision == engine::Precision::kInt8 ? 0.99 : 0.999; }

  // Compares one output row; returns the max abs error (fp32) or checks the cosine (the others).
  void compare_row(std::span<const float> got, const Json& want, const std::string& what, double* max_error) {
    ASSERT_EQ(got.size(), want.size()) << what;
    std::vector<double> w = want.get<std::vector<double>>();
    if (fp32()) {
      for (std::size_t i = 0; i < got.size(); ++i) *max_error = std::max(*max_error, std::fabs(got[i] - w[i]));
    } else {
      EXPECT_GE(cosine(got, w), min_cosine()) << what;
    }
  }

  const testing::EngineTestdata* data_ = nullptr;
  Variant variant_{};
  Json case_;
  Json reference_;
  std::unique_ptr<Model> model_;
};

std::vector<std::string> decode_all(const Json& hexes) {
  std::vector<std::string> out;
  for (const Json& h : hexes) out.push_back(testing::hex_decode(h.get<std::string>()));
  return out;
}

TEST_P(ModelParity, MatchesPyTorchReference) {
  if (case_.at("kind") == "embedding") {
    for (const char* run : {"plain", "query"}) {
      if (!reference_.contains(run)) continue;
      const Json& ref = reference_.at(run);
      std::vector<std::string> texts = decode_all(ref.at("inputs"));
      // The prefixed texts already hold the prompt: embed them as plain inputs.
      engine::EmbedOptions options;
      // Tokenization (with the model's truncation) equals Hugging Face's.
      for (std::size_t i = 0; i < texts.size(); ++i) {
        auto encoding = model_->tokenize(texts[i]);
        ASSERT_TRUE(encoding.ok()) << encoding.error().message();
        EXPECT_EQ(encoding->ids, ref.at("ids")[i].get<std::vector<std::int32_t>>()) << run << " input " << i;
      }
      auto embeddings = model_->embed(texts, options);
      ASSERT_TRUE(embeddings.ok()) << embeddings.error().message();
      ASSERT_EQ(embeddings->rows, static_cast<std::int64_t>(texts.size()));
      double max_error = 0;
      for (std::size_t i = 0; i < texts.size(); ++i) {
        compare_row(embeddings->row(static_cast<std::int64_t>(i)), ref.at("embeddings")[i], fmt::format("{} row {}", run, i),
                    &max_error);
      }
      std::int64_t tokens = 0;
      for (const Json& ids : ref.at("ids")) tokens += static_cast<std::int64_t>(ids.size());
      EXPECT_EQ(embeddings->total_tokens, tokens);
      // Token states of the first inputs.
      std::vector<engine::Encoding> encodings;
      for (std::size_t i = 0; i < ref.at("hidden").size(); ++i) encodings.push_back(*model_->tokenize(texts[i]));
      auto states = model_->hidden_states(encodings);
      ASSERT_TRUE(states.ok()) << states.error().message();
      for (std::size_t i = 0; i < encodings.size(); ++i) {
        compare_row((*states)[i], ref.at("hidden")[i], fmt::format("{} token states {}", run, i), &max_error);
      }
      if (fp32()) {
        EXPECT_LE(max_error, 1e-4) << run;
        RecordProperty(std::string("max_abs_error_") + run, fmt::format("{:.3g}", max_error));
      }
    }
    if (reference_.contains("query")) {
      // input_type=query adds the model's "query: " prompt: the same vectors as prefixed text.
      std::vector<std::string> texts = decode_all(reference_.at("plain").at("inputs"));
      engine::EmbedOptions options;
      options.input_type = engine::InputType::kQuery;
      auto embeddings = model_->embed(texts, options);
      ASSERT_TRUE(embeddings.ok()) << embeddings.error().message();
      double max_error = 0;
      for (std::size_t i = 0; i < texts.size(); ++i) {
        compare_row(embeddings->row(static_cast<std::int64_t>(i)), reference_.at("query").at("embeddings")[i],
                    fmt::format("input_type query row {}", i), &max_error);
      }
      if (fp32()) {
        EXPECT_LE(max_error, 1e-4);
      }
    }
    // Matryoshka: the first k components, re-normalised.
    const Json& ref = reference_.at("plain");
    std::vector<std::string> texts = decode_all(ref.at("inputs"));
    engine::EmbedOptions options;
    std::int64_t k = model_->info().dimensions / 2;
    options.dimensions = k;
    auto cut = model_->embed(texts, options);
    ASSERT_TRUE(cut.ok()) << cut.error().message();
    ASSERT_EQ(cut->dimensions, k);
    double max_error = 0;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      std::vector<double> full = ref.at("embeddings")[i].get<std::vector<double>>();
      full.resize(static_cast<std::size_t>(k));
      double norm = 0;
      for (double v : full) norm += v * v;
      norm = std::max(std::sqrt(norm), 1e-12);
      Json expected = Json::array();
      for (double v : full) expected.push_back(v / norm);
      compare_row(cut->row(static_cast<std::int64_t>(i)), expected, fmt::format("matryoshka row {}", i), &max_error);
    }
    if (fp32()) {
      EXPECT_LE(max_error, 1e-4);
    }
  } else {
    const Json& ref = reference_.at("rank");
    std::string query = testing::hex_decode(ref.at("query").get<std::string>());
    std::vector<std::string> passages = decode_all(ref.at("passages"));
    for (std::size_t i = 0; i < passages.size(); ++i) {
      std::string_view p(passages[i]);
      auto encoding = model_->tokenize(query, &p);
      ASSERT_TRUE(encoding.ok()) << encoding.error().message();
      EXPECT_EQ(encoding->ids, ref.at("ids")[i].get<std::vector<std::int32_t>>()) << "pair " << i;
    }
    auto ranking = model_->rank(query, passages);
    ASSERT_TRUE(ranking.ok()) << ranking.error().message();
    ASSERT_EQ(ranking->logits.size(), passages.size());
    std::vector<double> want = ref.at("logits").get<std::vector<double>>();
    if (fp32()) {
      double max_error = 0;
      for (std::size_t i = 0; i < want.size(); ++i) max_error = std::max(max_error, std::fabs(ranking->logits[i] - want[i]));
      EXPECT_LE(max_error, 1e-4);
      RecordProperty("max_abs_error", fmt::format("{:.3g}", max_error));
    } else {
      EXPECT_GE(cosine(ranking->logits, want), min_cosine());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, ModelParity,
    ::testing::Combine(::testing::Values("bert_embed", "bert_cls_f16", "xlmr_embed", "roberta_dense", "bert_reranker",
                                         "xlmr_reranker"),
                       // The CUDA variants exist only in builds with the CUDA backend.
                       ::testing::ValuesIn(engine::cuda_backend_built() ? std::vector<int>{0, 1, 2, 3, 4, 5, 6}
                                                                        : std::vector<int>{0, 1, 2, 3})),
    [](const ::testing::TestParamInfo<std::tuple<std::string, int>>& param) {
      return std::get<0>(param.param) + "_" + kVariants[std::get<1>(param.param)].name;
    });

}  // namespace
}  // namespace airlock

namespace airlock {
namespace {

// One Model shared by several threads gives each caller exactly what it gets alone.
TEST(ModelConcurrency, ConcurrentCallersGetTheirOwnResults) {
  std::string why;
  const testing::EngineTestdata* data = testing::engine_testdata(&why);
  if (data == nullptr) GTEST_SKIP() << "engine test data unavailable: " << why;
  engine::LoadOptions options;
  options.backend.threads = 2;
  options.max_batch_tokens = 128;
  auto model = engine::Model::load(data->root / "models" / "bert_embed", options);
  ASSERT_TRUE(model.ok()) << model.error().message();
  auto reference = read_json_file(data->root / "models" / "bert_embed" / "reference.json");
  ASSERT_TRUE(reference.ok());
  std::vector<std::string> texts = decode_all(reference->at("plain").at("inputs"));
  constexpr int kThreads = 4;
  std::vector<std::vector<std::string>> inputs(kThreads);
  std::vector<engine::Embeddings> alone(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    for (std::size_t i = static_cast<std::size_t>(t); i < texts.size(); i += 2) inputs[static_cast<std::size_t>(t)].push_back(texts[i]);
    auto e = (*model)->embed(inputs[static_cast<std::size_t>(t)]);
    ASSERT_TRUE(e.ok());
    alone[static_cast<std::size_t>(t)] = std::move(e).value();
  }
  std::vector<std::thread> threads;
  std::vector<int> mismatches(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        auto e = (*model)->embed(inputs[static_cast<std::size_t>(t)]);
        if (!e.ok() || e->values != alone[static_cast<std::size_t>(t)].values) ++mismatches[static_cast<std::size_t>(t)];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[static_cast<std::size_t>(t)], 0) << "thread " << t;
}

}  // namespace
}  // namespace airlock
