// Parity with Hugging Face transformers (tools/reference/qwen_vl_reference.py): tiny random
// Qwen2-VL, Qwen2.5-VL and Qwen3-VL models saved by transformers load here and give identical 3-D
// position ids, vision features within 1e-5, fp32 logits within 1e-4 (max abs) and greedy
// generation equal token for token, for text-only, one-image, two-image and padded batch inputs.
#include <gtest/gtest.h>

#include "models/generation.h"
#include "models/qwen_vl/hf_config.h"
#include "models/qwen_vl/positions.h"
#include "tests/models/model_test_util.h"

namespace ec::test {
namespace {

struct Case {
  std::string family;
  std::string name;
};

std::vector<Case> all_cases() {
  std::vector<Case> out;
  for (const char* f : {"qwen2_vl", "qwen2_5_vl", "qwen3_vl"})
    for (const char* n : {"text", "image1", "image2", "batch"}) out.push_back({f, n});
  return out;
}

class HfParity : public ::testing::TestWithParam<Case> {};

TEST_P(HfParity, MatchesTransformers) {
  const Case& k = GetParam();
  const auto dir = fixture_dir("qwen_vl_reference");
  nn::QwenVL m = models::load_pretrained(dir / k.family);
  m->eval();
  const models::QwenVLConfig& c = m->config();
  auto t = load_tensors(dir / "cases" / (k.family + "." + k.name + ".safetensors"));
  at::NoGradGuard ng;

  data::ModelInputs in;
  in.input_ids = t["input_ids"];
  in.attention_mask = t["attention_mask"].to(at::kBool);
  if (t.count("pixel_values")) {
    in.pixel_values = t["pixel_values"];
    in.image_grid_thw = t["image_grid_thw"];
  }
  // 3-D position ids and rope deltas, exactly.
  auto pos = models::batch_positions(in.input_ids, in.attention_mask, in.image_grid_thw, c);
  EXPECT_TRUE(pos.position_ids.equal(t["position_ids"])) << pos.position_ids << t["position_ids"];
  at::Tensor n_real = in.attention_mask.sum(1);
  EXPECT_TRUE((pos.next_position - n_real).equal(t["rope_deltas"]));

  // Vision features (and DeepStack features) within 1e-5.
  if (in.pixel_values.defined()) {
    auto v = m->encode_images(in.pixel_values, in.image_grid_thw);
    EXPECT_LT(max_abs_diff(v.embeds, t["image_embeds"]), 1e-5);
    for (size_t j = 0; j < v.deepstack.size(); ++j) {
      EXPECT_LT(max_abs_diff(v.deepstack[j], t["deepstack_" + std::to_string(j)]), 1e-5) << j;
    }
    EXPECT_EQ(v.deepstack.size(), c.vision.deepstack_visual_indexes.size());
  }

  // fp32 logits within 1e-4 at every real position.
  in.position_ids = pos.position_ids;
  at::Tensor logits = m->forward(in).logits;
  at::Tensor real = in.attention_mask.unsqueeze(-1).expand_as(logits);
  const double diff = max_abs_diff(logits.masked_select(real), t["logits"].masked_select(real));
  EXPECT_LT(diff, 1e-4);
  std::printf("%s.%s: max |logit diff| %.3g\n", k.family.c_str(), k.name.c_str(), diff);

  // Greedy generation, token for token (positions recomputed by the generator itself).
  in.position_ids = at::Tensor();
  models::GenerationConfig g;
  g.max_new_tokens = t["generated"].size(1);
  auto r = models::generate(*m, in, g);
  for (int64_t b = 0; b < in.input_ids.size(0); ++b) {
    std::vector<int64_t> mine(r.tokens[b].begin(), r.tokens[b].end());
    at::Tensor ref = t["generated"][b].contiguous();
    EXPECT_EQ(mine, std::vector<int64_t>(ref.data_ptr<int64_t>(), ref.data_ptr<int64_t>() + ref.numel())) << "row " << b;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixture, HfParity, ::testing::ValuesIn(all_cases()),
                         [](const auto& info) { return info.param.family + "_" + info.param.name; });

TEST(HfParityModels, LayoutsAndTying) {
  const auto dir = fixture_dir("qwen_vl_reference");
  // qwen2_vl: legacy tensor names, untied; qwen2_5_vl: flat legacy config.json, tied; qwen3_vl: nested.
  auto c2 = models::load_hf_config(dir / "qwen2_vl");
  EXPECT_FALSE(c2.tie_word_embeddings);
  auto c25 = models::load_hf_config(dir / "qwen2_5_vl");
  EXPECT_TRUE(c25.tie_word_embeddings);
  EXPECT_EQ(c25.vision.window_size, 56);
  EXPECT_EQ(c25.text.num_layers, 3);
  auto c3 = models::load_hf_config(dir / "qwen3_vl");
  EXPECT_TRUE(c3.text.mrope_interleaved);
  EXPECT_EQ(c3.text.resolved_head_dim(), 32);
}

}  // namespace
}  // namespace ec::test
