// Building blocks against naive LibTorch references: attention masks and kernels, M-RoPE slot
// layout (spec checklist 4), RMSNorm, activation checkpointing gradients, LoRA.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "models/nn/attention.h"
#include "models/nn/checkpoint.h"
#include "models/nn/linear.h"
#include "models/nn/norm.h"
#include "models/nn/rotary.h"
#include "models/qwen_vl/lora.h"
#include "tests/models/model_test_util.h"

namespace ec::test {
namespace {

// Softmax attention written out: scores, additive -inf mask, softmax, weighted sum.
at::Tensor naive_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& allowed,
                           double scale) {
  const int64_t groups = q.size(1) / k.size(1);
  at::Tensor kk = k.repeat_interleave(groups, 1), vv = v.repeat_interleave(groups, 1);
  at::Tensor s = at::matmul(q, kk.transpose(-1, -2)) * scale;
  s = s.masked_fill(allowed.logical_not(), -std::numeric_limits<double>::infinity());
  return at::matmul(s.softmax(-1), vv).transpose(1, 2);
}

TEST(Attention, PaddedCausalMaskWithPrefixAndGqa) {
  at::manual_seed(0);
  const int64_t B = 2, Hq = 4, Hkv = 2, Lq = 3, Lk = 7, D = 8;
  at::Tensor q = at::randn({B, Hq, Lq, D}), k = at::randn({B, Hkv, Lk, D}), v = at::randn({B, Hkv, Lk, D});
  at::Tensor valid = at::ones({B, Lk}, at::kBool);
  valid[1][0] = false;
  valid[1][1] = false;
  auto m = nn::padded_causal_mask(valid, Lq);
  at::Tensor out = nn::attention(q, k, v, m, 0.3);
  // Query i sees keys j <= 4 + i that are valid.
  at::Tensor allowed = at::zeros({B, 1, Lq, Lk}, at::kBool);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < Lq; ++i)
      for (int64_t j = 0; j <= 4 + i; ++j) allowed[b][0][i][j] = valid[b][j].item<bool>();
  EXPECT_LT(max_abs_diff(out, naive_attention(q, k, v, allowed, 0.3)), 1e-6);
}

TEST(Attention, PackedEqualsSeparateSequences) {
  at::manual_seed(1);
  const int64_t H = 2, D = 8;
  std::vector<int64_t> lens{3, 5, 1};
  at::Tensor q = at::randn({1, H, 9, D}), k = at::randn({1, H, 9, D}), v = at::randn({1, H, 9, D});
  for (bool causal : {true, false}) {
    auto m = nn::varlen_mask(at::tensor({0, 3, 8, 9}, at::kInt), causal, at::kCPU);
    EXPECT_EQ(m.max_seqlen, 5);
    at::Tensor out = nn::attention(q, k, v, m, 0.25);
    int64_t off = 0;
    for (int64_t len : lens) {
      at::Tensor allowed = causal ? at::ones({len, len}, at::kBool).tril() : at::ones({len, len}, at::kBool);
      at::Tensor ref = naive_attention(q.narrow(2, off, len), k.narrow(2, off, len), v.narrow(2, off, len),
                                       allowed.view({1, 1, len, len}), 0.25);
      EXPECT_LT(max_abs_diff(out.narrow(1, off, len), ref), 1e-6);
      off += len;
    }
  }
}

TEST(Attention, FullyPaddedQueryRowsStayFinite) {
  at::Tensor valid = at::tensor({0, 0, 1, 1}, at::kLong).to(at::kBool).view({1, 4});
  auto m = nn::padded_causal_mask(valid, 4);
  at::Tensor q = at::randn({1, 1, 4, 4}), k = at::randn({1, 1, 4, 4}), v = at::randn({1, 1, 4, 4});
  EXPECT_TRUE(nn::attention(q, k, v, m, 0.5).isfinite().all().item<bool>());
}

TEST(Rotary, InterleavedSlotsFollowTheSpec) {
  auto axes = nn::mrope_slot_axes({24, 20, 20}, true);
  ASSERT_EQ(axes.size(), 64u);
  for (int64_t j = 0; j < 64; ++j) {
    int64_t want = (j < 60 && j % 3 == 1) ? 1 : (j < 60 && j % 3 == 2) ? 2 : 0;
    EXPECT_EQ(axes[j], want) << j;
  }
  auto contiguous = nn::mrope_slot_axes({16, 24, 24}, false);
  EXPECT_EQ(contiguous[15], 0);
  EXPECT_EQ(contiguous[16], 1);
  EXPECT_EQ(contiguous[39], 1);
  EXPECT_EQ(contiguous[40], 2);
}

TEST(Rotary, TextOnlyMropeIsPlainRope) {
  // Equal ids on the three axes reduce M-RoPE to 1-D RoPE (spec 3.4 point 5).
  at::Tensor inv = nn::rope_inv_freq(16, 1e6);
  at::Tensor pos = at::arange(5, at::kLong).view({1, 1, 5}).expand({3, 1, 5});
  auto t = nn::mrope_tables(pos, inv, nn::mrope_slot_axes({2, 3, 3}, false), at::kFloat);
  at::Tensor angles = at::arange(5, at::kFloat).unsqueeze(1) * inv.unsqueeze(0);
  at::Tensor ref = at::cat({angles, angles}, -1).cos();
  EXPECT_LT(max_abs_diff(t.cos[0], ref), 1e-7);
}

TEST(Norm, RmsNormFormula) {
  at::Tensor x = at::randn({3, 8}, at::kDouble), w = at::randn({8}, at::kDouble);
  at::Tensor ref = x / (x.pow(2).mean(-1, true) + 1e-6).sqrt() * w;
  EXPECT_LT(max_abs_diff(nn::rms_norm(x.to(at::kFloat), w.to(at::kFloat), 1e-6), ref), 1e-5);
}

TEST(Checkpoint, GradientsEqualPlainBackward) {
  at::manual_seed(2);
  nn::Linear a(nn::LinearOptions(6, 6)), b(nn::LinearOptions(6, 6));
  b->add_lora({2, 4.0, 0.5});  // dropout: recomputation must draw the same mask
  torch::nn::init::normal_(b->lora_b);
  b->train();
  at::Tensor x = torch::randn({4, 6}, torch::requires_grad());
  auto fn = [&](const torch::autograd::variable_list& in) -> torch::autograd::variable_list {
    at::Tensor h = at::tanh(a(in[0]));
    return {b(h) * in[1], h};
  };
  at::Tensor scale = torch::randn({4, 6}, torch::requires_grad());
  auto params = [&] { return std::vector<at::Tensor>{a->weight, a->bias, b->weight, b->lora_a, b->lora_b}; };

  at::manual_seed(7);
  auto plain = fn({x, scale});
  (plain[0].sum() + plain[1].pow(2).sum()).backward();
  std::vector<at::Tensor> g_plain;
  for (auto& p : params()) {
    ASSERT_TRUE(p.grad().defined()) << g_plain.size();
    g_plain.push_back(p.grad().clone());
    p.mutable_grad().zero_();
  }
  at::Tensor gx = x.grad().clone(), gs = scale.grad().clone();
  x.mutable_grad().zero_();
  scale.mutable_grad().zero_();

  at::manual_seed(7);
  auto ck = nn::checkpoint(fn, {x, scale});
  EXPECT_TRUE(ck[0].equal(plain[0]));
  (ck[0].sum() + ck[1].pow(2).sum()).backward();
  auto ps = params();
  for (size_t i = 0; i < ps.size(); ++i) EXPECT_LT(max_abs_diff(ps[i].grad(), g_plain[i]), 1e-6) << i;
  EXPECT_LT(max_abs_diff(x.grad(), gx), 1e-6);
  EXPECT_LT(max_abs_diff(scale.grad(), gs), 1e-6);
}

TEST(Checkpoint, ReachesParametersWhenNoInputNeedsGrad) {
  nn::Linear a(nn::LinearOptions(3, 3));
  at::Tensor x = at::randn({2, 3});
  auto out = nn::checkpoint([&](const torch::autograd::variable_list& in) -> torch::autograd::variable_list {
    return {a(in[0])};
  }, {x});
  out[0].sum().backward();
  ASSERT_TRUE(a->weight.grad().defined());
  EXPECT_LT(max_abs_diff(a->weight.grad(), x.sum(0).unsqueeze(0).expand({3, 3})), 1e-6);
}

TEST(Lora, ZeroInitMergeUnmergeDisable) {
  at::manual_seed(3);
  nn::Linear lin(nn::LinearOptions(5, 4));
  at::Tensor x = at::randn({2, 5});
  at::Tensor base = lin(x).detach();
  lin->add_lora({2, 8.0, 0.0});
  EXPECT_TRUE(lin(x).equal(base));  // B starts at zero
  {
    at::NoGradGuard ng;
    lin->lora_b.normal_();
  }
  at::Tensor adapted = lin(x).detach();
  at::Tensor ref = base + at::matmul(at::matmul(x, lin->lora_a.t()), lin->lora_b.t()) * 4.0;
  EXPECT_LT(max_abs_diff(adapted, ref), 1e-5);
  lin->set_lora_enabled(false);
  EXPECT_LT(max_abs_diff(lin(x), base), 1e-6);
  lin->set_lora_enabled(true);
  at::Tensor w0 = lin->weight.detach().clone();
  lin->merge_lora();
  EXPECT_LT(max_abs_diff(lin(x), adapted), 1e-5);
  EXPECT_THROW(lin->set_lora_enabled(false), InternalError);
  lin->unmerge_lora();
  EXPECT_LT(max_abs_diff(lin(x), adapted), 1e-5);
  EXPECT_LT(max_abs_diff(lin->weight, w0), 1e-6);
}

TEST(Lora, ModelAdaptersFreezingCloneAndReference) {
  models::QwenVLConfig c;
  nn::QwenVL m = tiny_model(ModelFamily::Qwen3VL, 5, &c);
  models::LoraConfig lc;
  lc.rank = 4;
  lc.targets = {"q_proj", "v_proj", "down_proj"};
  EXPECT_EQ(models::apply_lora(*m, lc), 3 * c.text.num_layers);
  for (const auto& p : m->named_parameters()) {
    const bool lora = p.key().find("lora_") != std::string::npos;
    if (p.key().rfind("language_model.", 0) == 0) {
      EXPECT_EQ(p.value().requires_grad(), lora) << p.key();
    }
  }
  lc.targets = {"nonexistent"};
  EXPECT_THROW(models::apply_lora(*m, lc), UserError);

  auto ids = prompt_ids(c, 3, {{1, 4, 4}}, 2, 9);
  data::ModelInputs in;
  in.input_ids = ids_tensor(ids);
  in.pixel_values = pixels(c, {{1, 4, 4}}, 9);
  in.image_grid_thw = grid_tensor({{1, 4, 4}});
  at::NoGradGuard ng;
  at::Tensor base = m->forward(in).logits;
  for (auto& p : m->named_parameters())
    if (p.key().find("lora_b") != std::string::npos) p.value().normal_();
  at::Tensor adapted = m->forward(in).logits;
  EXPECT_GT(max_abs_diff(adapted, base), 1e-3);
  {
    models::LoraDisabled reference(*m);
    EXPECT_LT(max_abs_diff(m->forward(in).logits, base), 1e-6);
  }
  auto copy = std::dynamic_pointer_cast<nn::QwenVLImpl>(m->clone());
  EXPECT_LT(max_abs_diff(copy->forward(in).logits, adapted), 1e-6);
  models::merge_lora(*m);
  EXPECT_LT(max_abs_diff(m->forward(in).logits, adapted), 1e-4);

  models::FreezeConfig fz;
  fz.vision_tower = true;
  models::apply_freeze(*copy, fz);
  for (const auto& p : copy->named_parameters()) {
    if (p.key().rfind("visual.blocks.", 0) == 0) {
      EXPECT_FALSE(p.value().requires_grad());
    }
    if (p.key().rfind("visual.merger.", 0) == 0) {
      EXPECT_TRUE(p.value().requires_grad());
    }
  }
}

}  // namespace
}  // namespace ec::test
