// Model config: presets, parameter counts against the published totals
// (../shared/spec/qwen_vl.md 1.4), Hugging Face config.json in both layouts.
#include <gtest/gtest.h>

#include <cmath>

#include "editcaption/core/error.h"
#include "models/qwen_vl/hf_config.h"
#include "models/qwen_vl/param_count.h"
#include "tests/models/model_test_util.h"

namespace ec::test {
namespace {

using models::QwenVLConfig;

struct Published {
  const char* preset;
  double vision_m;  // ViT + mergers, millions
  double llm_b;     // LLM incl. embedding and untied head, billions
  double total_b;
};

TEST(ModelConfig, PresetsReproducePublishedParameterCounts) {
  // Spec 1.4; Qwen3-VL-4B's vision count is 415.35 M (the table rounds it to 415.4).
  const Published table[] = {
      {"qwen2_vl_2b.yaml", 665.3, 1.544, 2.209},   {"qwen2_vl_7b.yaml", 675.8, 7.616, 8.291},
      {"qwen2_5_vl_3b.yaml", 668.7, 3.086, 3.755}, {"qwen2_5_vl_7b.yaml", 676.6, 7.616, 8.292},
      {"qwen3_vl_2b.yaml", 407.0, 1.721, 2.128},   {"qwen3_vl_4b.yaml", 415.35, 4.022, 4.438},
      {"qwen3_vl_8b.yaml", 576.4, 8.191, 8.767},   {"qwen3_vl_32b.yaml", 595.3, 32.762, 33.357},
  };
  for (const auto& p : table) {
    SCOPED_TRACE(p.preset);
    auto n = models::count_parameters(load_preset(p.preset).model);
    EXPECT_NEAR(n.vision() / 1e6, p.vision_m, 0.06);
    EXPECT_NEAR(n.llm() / 1e9, p.llm_b, 0.0006);
    EXPECT_NEAR(n.total() / 1e9, p.total_b, 0.0006);
  }
  // Qwen3-VL-8B matches the published split exactly (576.39 M vision).
  auto n8 = models::count_parameters(load_preset("qwen3_vl_8b.yaml").model);
  EXPECT_NEAR(n8.vision() / 1e6, 576.39, 0.01);
}

TEST(ModelConfig, CountMatchesBuiltModules) {
  for (auto f : {ModelFamily::Qwen2VL, ModelFamily::Qwen25VL, ModelFamily::Qwen3VL}) {
    QwenVLConfig c = tiny_config(f);
    nn::QwenVL m(nn::QwenVLOptions{c});
    auto n = models::count_parameters(c);
    auto report = models::parameter_report(*m);
    EXPECT_EQ(report[0].total, n.vision_tower) << config::enum_name(f);
    EXPECT_EQ(report[1].total, n.merger) << config::enum_name(f);
    EXPECT_EQ(report[2].total, n.embedding);
    EXPECT_EQ(report[3].total, n.decoder);
    EXPECT_EQ(report[4].total, n.lm_head);
    int64_t all = 0;
    for (const auto& p : m->parameters()) all += p.numel();
    EXPECT_EQ(all, n.total());
  }
}

TEST(ModelConfig, SmallAndTinyPresetsValidate) {
  for (const char* f : {"tiny.yaml", "tiny_qwen2_vl.yaml", "tiny_qwen3_vl.yaml", "small.yaml"}) {
    EXPECT_NO_THROW(models::check_architecture(load_preset(f).model, f)) << f;
  }
  auto small = models::count_parameters(load_preset("small.yaml").model);
  EXPECT_LT(small.total(), 20'000'000);  // trains on 2 CPU cores
}

TEST(ModelConfig, BadShapesAreRejectedWithTheKey) {
  try {
    load_preset("tiny.yaml", {"model.text.mrope_section=[2, 2, 2]"});
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("mrope_section"), std::string::npos) << e.what();
    EXPECT_EQ(e.code(), ExitCode::Usage);
  }
  EXPECT_THROW(load_preset("tiny.yaml", {"model.text.num_kv_heads=3"}), UserError);
  EXPECT_THROW(load_preset("tiny.yaml", {"model.image_token_id=5000"}), UserError);
  EXPECT_THROW(load_preset("tiny_qwen3_vl.yaml", {"model.vision.num_position_embeddings=35"}), UserError);
}

TEST(ModelConfig, TokenCheckNamesTheMismatch) {
  QwenVLConfig c = tiny_config(ModelFamily::Qwen25VL);
  SpecialTokenIds sp;
  sp.image_pad = 302;
  sp.video_pad = 303;
  sp.vision_start = 300;
  sp.vision_end = 301;
  EXPECT_NO_THROW(models::check_tokens(c, sp, 320));
  sp.image_pad = 13;
  try {
    models::check_tokens(c, sp, 320);
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("image_token_id"), std::string::npos);
  }
  EXPECT_THROW(models::check_tokens(c, sp, 400), UserError);
}

TEST(HfConfig, LegacyFlatQwen2VLHubFile) {
  // The shape of the Qwen2-VL-2B-Instruct hub config (flat text keys, rope_scaling type mrope,
  // a vision block with only the merger width and legacy keys).
  auto j = nlohmann::json::parse(R"({
    "architectures": ["Qwen2VLForConditionalGeneration"], "model_type": "qwen2_vl",
    "hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28, "num_attention_heads": 12,
    "num_key_value_heads": 2, "vocab_size": 151936, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
    "max_position_embeddings": 32768, "tie_word_embeddings": true, "hidden_act": "silu",
    "use_sliding_window": false, "sliding_window": 32768,
    "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
    "vision_config": {"depth": 32, "embed_dim": 1280, "mlp_ratio": 4, "num_heads": 16, "in_chans": 3,
                      "hidden_size": 1536, "patch_size": 14, "spatial_merge_size": 2, "spatial_patch_size": 14,
                      "temporal_patch_size": 2},
    "vision_start_token_id": 151652, "vision_end_token_id": 151653, "vision_token_id": 151654,
    "image_token_id": 151655, "video_token_id": 151656})");
  QwenVLConfig c = models::config_from_hf(j, "config.json");
  EXPECT_EQ(c.family, ModelFamily::Qwen2VL);
  EXPECT_EQ(c.text.hidden_size, 1536);
  EXPECT_EQ(c.text.resolved_head_dim(), 128);
  EXPECT_EQ(c.text.mrope_section, (std::vector<int64_t>{16, 24, 24}));
  EXPECT_FALSE(c.text.mrope_interleaved);
  EXPECT_DOUBLE_EQ(c.text.rope_theta, 1e6);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.vision.hidden_size, 1280);       // embed_dim
  EXPECT_EQ(c.vision.out_hidden_size, 1536);   // hidden_size is the merger output
  EXPECT_EQ(c.vision.intermediate_size, 5120); // embed_dim * mlp_ratio
  EXPECT_EQ(c.vision.hidden_act, nn::Activation::QuickGelu);
  auto n = models::count_parameters(c);
  EXPECT_NEAR(n.total() / 1e9, 2.209, 0.0006);
}

TEST(HfConfig, NestedQwen3VLWithRopeParameters) {
  auto j = nlohmann::json::parse(R"({
    "model_type": "qwen3_vl", "tie_word_embeddings": false, "image_token_id": 151655,
    "text_config": {"model_type": "qwen3_vl_text", "hidden_size": 4096, "intermediate_size": 12288,
      "num_hidden_layers": 36, "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128,
      "vocab_size": 151936, "rms_norm_eps": 1e-6, "max_position_embeddings": 262144,
      "rope_parameters": {"rope_type": "default", "rope_theta": 5000000, "mrope_section": [24, 20, 20],
                          "mrope_interleaved": true}},
    "vision_config": {"depth": 27, "hidden_size": 1152, "intermediate_size": 4304, "num_heads": 16,
      "out_hidden_size": 4096, "deepstack_visual_indexes": [8, 16, 24], "hidden_act": "gelu_pytorch_tanh"}})");
  QwenVLConfig c = models::config_from_hf(j, "config.json");
  EXPECT_EQ(c.family, ModelFamily::Qwen3VL);
  EXPECT_TRUE(c.text.mrope_interleaved);
  EXPECT_DOUBLE_EQ(c.text.rope_theta, 5e6);
  EXPECT_EQ(c.vision.patch_size, 16);
  EXPECT_EQ(c.vision.num_position_embeddings, 2304);
  EXPECT_NEAR(models::count_parameters(c).total() / 1e9, 8.767, 0.0006);
}

TEST(HfConfig, WriterRoundTripsEveryFamily) {
  for (auto f : {ModelFamily::Qwen2VL, ModelFamily::Qwen25VL, ModelFamily::Qwen3VL}) {
    QwenVLConfig c = tiny_config(f);
    auto j = models::config_to_hf(c, at::kFloat);
    QwenVLConfig back = models::config_from_hf(nlohmann::json::parse(j.dump()), "written");
    EXPECT_EQ(models::config_to_hf(back, at::kFloat).dump(), j.dump()) << config::enum_name(f);
    EXPECT_EQ(models::count_parameters(back).total(), models::count_parameters(c).total());
  }
}

TEST(HfConfig, UnsupportedAndBrokenFilesAreUserErrors) {
  EXPECT_THROW(models::config_from_hf(nlohmann::json::parse(R"({"model_type": "llava"})"), "c"), UserError);
  EXPECT_THROW(models::config_from_hf(nlohmann::json::parse(R"({"model_type": "qwen2_vl", "hidden_size": "big"})"), "c"),
               UserError);
  EXPECT_THROW(models::config_from_hf(
                   nlohmann::json::parse(R"({"model_type": "qwen2_vl", "rope_scaling": {"type": "yarn", "factor": 4}})"), "c"),
               UserError);
  TempDir tmp;
  write_text(tmp / "config.json", "{not json");
  EXPECT_THROW(models::load_hf_config(tmp.path()), UserError);
}

}  // namespace
}  // namespace ec::test
