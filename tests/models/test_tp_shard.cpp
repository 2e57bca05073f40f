// The tensor-parallel sharding rule (models/qwen_vl/tp_shard.h) on the tiny presets: exactly the
// decoder's q/k/v, gate/up (rows) and o_proj/down_proj (columns) are split, the parts join back
// into the full tensor, and the parts of rank r are the slices the tp layers compute with.
#include <gtest/gtest.h>

#include "models/qwen_vl/tp_shard.h"
#include "tests/models/model_test_util.h"

namespace ec::test {
namespace {

using models::TpSplit;

TEST(TpShard, SplitsExactlyTheDecoderProjections) {
  EXPECT_EQ(models::tp_split("language_model.layers.0.self_attn.q_proj.weight"), TpSplit::Rows);
  EXPECT_EQ(models::tp_split("language_model.layers.0.self_attn.k_proj.bias"), TpSplit::Rows);
  EXPECT_EQ(models::tp_split("language_model.layers.11.mlp.up_proj.weight"), TpSplit::Rows);
  EXPECT_EQ(models::tp_split("language_model.layers.1.self_attn.o_proj.weight"), TpSplit::Cols);
  EXPECT_EQ(models::tp_split("language_model.layers.1.mlp.down_proj.weight"), TpSplit::Cols);
  EXPECT_EQ(models::tp_split("language_model.layers.1.self_attn.q_norm.weight"), TpSplit::Replicated);
  EXPECT_EQ(models::tp_split("language_model.embed_tokens.weight"), TpSplit::Replicated);
  EXPECT_EQ(models::tp_split("lm_head.weight"), TpSplit::Replicated);
  EXPECT_EQ(models::tp_split("visual.blocks.0.mlp.up_proj.weight"), TpSplit::Replicated);  // vision: replicated
}

TEST(TpShard, PartsJoinBackIntoEveryParameter) {
  for (ModelFamily f : {ModelFamily::Qwen25VL, ModelFamily::Qwen3VL}) {
    nn::QwenVL m = tiny_model(f);
    int sharded = 0;
    for (const auto& p : m->named_parameters()) {
      const std::string& n = p.key();
      const at::Tensor full = p.value().detach();
      std::vector<at::Tensor> parts;
      for (int r = 0; r < 2; ++r) parts.push_back(models::tp_shard(n, full, r, 2));
      EXPECT_TRUE(models::tp_unshard(n, parts).equal(full)) << n;
      EXPECT_EQ(models::tp_full_shape(n, parts[0].sizes(), 2), full.sizes().vec()) << n;
      if (models::tp_sharded(n)) {
        ++sharded;
        EXPECT_EQ(parts[0].numel() * 2, full.numel()) << n;
        EXPECT_FALSE(parts[0].equal(parts[1])) << n;
      } else {
        EXPECT_TRUE(parts[1].equal(full)) << n;
      }
    }
    const int64_t layers = tiny_config(f).text.num_layers;
    // q, k, v, o, gate, up, down weights, plus the q/k/v biases of Qwen2.5.
    EXPECT_EQ(sharded, layers * (f == ModelFamily::Qwen3VL ? 7 : 10)) << config::enum_name(f);
  }
}

TEST(TpShard, HeadsStayWhole) {
  // Rank 1 of 2 holds the second half of the query heads and of the KV heads: rows
  // [H/2 * hd, H * hd) of q_proj, so grouped-query pairs stay on one rank.
  at::Tensor q = at::arange(8 * 3, at::kFloat).view({8, 3});  // 4 heads of head_dim 2
  at::Tensor part = models::tp_shard("language_model.layers.0.self_attn.q_proj.weight", q, 1, 2);
  EXPECT_TRUE(part.equal(q.slice(0, 4, 8)));
  at::Tensor o = at::arange(3 * 8, at::kFloat).view({3, 8});
  EXPECT_TRUE(models::tp_shard("language_model.layers.0.self_attn.o_proj.weight", o, 1, 2).equal(o.slice(1, 4, 8)));
}

}  // namespace
}  // namespace ec::test
