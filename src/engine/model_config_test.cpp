// config.json and the sentence-transformers files: the values real repositories use, both
// pooling config formats, the registry, and errors for what cannot run.
#include "engine/model_config.h"

#include <gtest/gtest.h>

#include "core/file_io.h"
#include "engine/model_registry.h"
#include "testing.h"

namespace airlock::engine {
namespace {

constexpr const char* kMiniLm = R"({"architectures":["BertModel"],"model_type":"bert","vocab_size":30522,"hidden_size":384,
 "num_hidden_layers":6,"num_attention_heads":12,"intermediate_size":1536,"hidden_act":"gelu",
 "max_position_embeddings":512,"type_vocab_size":2,"layer_norm_eps":1e-12,"pad_token_id":0,
 "position_embedding_type":"absolute"})";

TEST(ModelConfig, ReadsABertConfig) {
  auto c = parse_encoder_config(kMiniLm, "config.json");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->hidden_size, 384);
  EXPECT_EQ(c->num_hidden_layers, 6);
  EXPECT_EQ(c->hidden_act, Activation::kGeluErf);
  EXPECT_EQ(c->num_labels, 0);
  auto arch = resolve_architecture(*c);
  ASSERT_TRUE(arch.ok());
  EXPECT_EQ(arch->positions, PositionStyle::kAbsolute);
  EXPECT_EQ(arch->head, HeadKind::kNone);
}

TEST(ModelConfig, ReadsARerankerConfig) {
  auto c = parse_encoder_config(
      R"({"architectures":["XLMRobertaForSequenceClassification"],"model_type":"xlm-roberta","vocab_size":250002,
          "hidden_size":768,"num_hidden_layers":12,"num_attention_heads":12,"intermediate_size":3072,"hidden_act":"gelu",
          "max_position_embeddings":514,"type_vocab_size":1,"layer_norm_eps":1e-05,"pad_token_id":1,
          "id2label":{"0":"LABEL_0"},"sentence_transformers":{"activation_fn":"torch.nn.modules.activation.Sigmoid"}})",
      "config.json");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->num_labels, 1);
  EXPECT_EQ(c->labels, std::vector<std::string>{"LABEL_0"});
  EXPECT_EQ(c->classifier_activation, "Sigmoid");
  auto arch = resolve_architecture(*c);
  ASSERT_TRUE(arch.ok());
  EXPECT_EQ(arch->head, HeadKind::kRobertaClassifier);
  EXPECT_EQ(arch->positions, PositionStyle::kPaddingOffset);
}

TEST(ModelConfig, RejectsWhatCannotRun) {
  auto heads = parse_encoder_config(R"({"vocab_size":10,"hidden_size":30,"num_hidden_layers":1,"num_attention_heads":4,"intermediate_size":8})",
                                    "config.json");
  ASSERT_FALSE(heads.ok());
  EXPECT_NE(heads.error().message().find("not a multiple of num_attention_heads"), std::string::npos);
  auto act = parse_encoder_config(R"({"vocab_size":10,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":8,"hidden_act":"mish"})",
                                  "config.json");
  ASSERT_FALSE(act.ok());
  EXPECT_EQ(act.error().code(), ErrorCode::kUnsupported);
  auto rotary = parse_encoder_config(
      R"({"vocab_size":10,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":8,"position_embedding_type":"rotary"})",
      "config.json");
  ASSERT_FALSE(rotary.ok());
  auto wrong_type = parse_encoder_config(R"({"vocab_size":"many"})", "config.json");
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.error().message().find("wrong type"), std::string::npos);
  auto missing = parse_encoder_config(R"({})", "config.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("vocab_size"), std::string::npos);

  EncoderConfig unknown;
  unknown.architectures = {"NomicBertModel"};
  unknown.model_type = "nomic_bert";
  auto arch = resolve_architecture(unknown);
  ASSERT_FALSE(arch.ok());
  EXPECT_EQ(arch.error().code(), ErrorCode::kUnsupported);
  EXPECT_NE(arch.error().message().find("NomicBertModel"), std::string::npos);
  EXPECT_NE(arch.error().message().find("BertModel"), std::string::npos);  // lists what is supported
}

TEST(PoolingConfig, LegacyBooleansAndTheNewString) {
  bool include_prompt = false;
  auto legacy = parse_pooling_config(
      R"({"word_embedding_dimension":384,"pooling_mode_cls_token":false,"pooling_mode_mean_tokens":true,"pooling_mode_max_tokens":false,"pooling_mode_mean_sqrt_len_tokens":false})",
      "1_Pooling/config.json", &include_prompt);
  ASSERT_TRUE(legacy.ok());
  EXPECT_EQ(*legacy, std::vector<PoolingMode>{PoolingMode::kMean});
  EXPECT_TRUE(include_prompt);
  auto v6 = parse_pooling_config(R"({"embedding_dimension":384,"pooling_mode":"cls","include_prompt":false})",
                                 "1_Pooling/config.json", &include_prompt);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(*v6, std::vector<PoolingMode>{PoolingMode::kCls});
  EXPECT_FALSE(include_prompt);
  auto list = parse_pooling_config(R"({"pooling_mode":["mean","cls","lasttoken"]})", "p", nullptr);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, (std::vector<PoolingMode>{PoolingMode::kCls, PoolingMode::kMean, PoolingMode::kLastToken}));
  auto none = parse_pooling_config(R"({"word_embedding_dimension":384})", "p", nullptr);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, std::vector<PoolingMode>{PoolingMode::kMean});
  auto bad = parse_pooling_config(R"({"pooling_mode":"splade"})", "p", nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kUnsupported);
}

TEST(SentenceTransformersConfig, ReadsTheModuleFiles) {
  testing::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir / "modules.json",
                                R"([{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
                                    {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
                                    {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.sentence_transformer.modules.normalize.Normalize"}])")
                  .ok());
  ASSERT_TRUE(write_file_atomic(dir / "1_Pooling" / "config.json", R"({"pooling_mode_cls_token":true})").ok());
  ASSERT_TRUE(write_file_atomic(dir / "sentence_bert_config.json", R"({"max_seq_length":256,"do_lower_case":false})").ok());
  ASSERT_TRUE(write_file_atomic(dir / "config_sentence_transformers.json",
                                R"({"prompts":{"query":"query: ","passage":"passage: "},"default_prompt_name":null})")
                  .ok());
  auto st = load_sentence_transformers_config(dir.path());
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_TRUE(st->present);
  EXPECT_EQ(st->pooling, std::vector<PoolingMode>{PoolingMode::kCls});
  EXPECT_TRUE(st->normalize);
  EXPECT_EQ(st->max_seq_length, 256);
  EXPECT_EQ(st->prompts.at("query"), "query: ");

  ASSERT_TRUE(write_file_atomic(dir / "modules.json", R"([{"idx":1,"path":"../../etc","type":"Pooling"}])").ok());
  auto escape = load_sentence_transformers_config(dir.path());
  ASSERT_FALSE(escape.ok());
  EXPECT_NE(escape.error().message().find("leaves the model directory"), std::string::npos);
}

}  // namespace
}  // namespace airlock::engine
