// The optimizer against references we did not write: torch.optim.AdamW in float64 (python
// fixture), the published schedule formulas, and the plain definition of the global norm.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <numbers>

#include "editcaption/core/error.h"
#include "editcaption/dist/grad_sync.h"
#include "tests/common/test_util.h"
#include "trainers/optim/adamw.h"
#include "trainers/optim/clip.h"
#include "trainers/optim/config.h"
#include "trainers/optim/param_groups.h"
#include "trainers/optim/schedule.h"
#include "trainers/optim/zero.h"

namespace ec::optim {
namespace {

torch::Tensor from_list(const nlohmann::json& values, const std::vector<int64_t>& shape) {
  std::vector<double> v = values.get<std::vector<double>>();
  return torch::tensor(v, torch::kDouble).view(shape);
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

TEST(AdamW, MatchesPyTorchInFloat64) {
  auto fx = nlohmann::json::parse(test::read_text(test::fixture_dir("optim_adamw") / "adamw.json"));
  std::map<std::string, torch::Tensor> params;
  std::map<std::string, std::vector<int64_t>> shapes;
  for (auto& [name, shape] : fx["shapes"].items()) {
    shapes[name] = shape.get<std::vector<int64_t>>();
    params[name] = from_list(fx["initial"][name], shapes[name]).requires_grad_(true);
  }
  std::vector<ParamGroup> groups;
  for (const auto& g : fx["groups"]) {
    ParamGroup pg{g["name"], g["weight_decay"], g["lr_scale"], {}, {}};
    for (const auto& n : g["params"]) {
      pg.names.push_back(n);
      pg.params.push_back(params[n]);
    }
    groups.push_back(pg);
  }
  AdamW opt(groups, {fx["betas"][0], fx["betas"][1], fx["eps"], /*fused=*/true});
  for (const auto& step : fx["steps"]) {
    for (auto& [name, p] : params) {
      const auto& g = step["grads"][name];
      p.mutable_grad() = g.is_null() ? torch::Tensor() : from_list(g, shapes[name]);
    }
    opt.step(step["lr"].get<double>());
    for (auto& [name, p] : params) {
      EXPECT_LT(max_abs_diff(p.detach(), from_list(step["expected"][name], shapes[name])), 1e-12) << name;
    }
  }
  OptimizerState s = opt.state_dict();
  const auto& last = fx["steps"].back()["state"];
  for (auto& [name, p] : params) {
    EXPECT_LT(max_abs_diff(s.tensors.at(name + ".exp_avg"), from_list(last[name]["exp_avg"], shapes[name])), 1e-12);
    EXPECT_LT(max_abs_diff(s.tensors.at(name + ".exp_avg_sq"), from_list(last[name]["exp_avg_sq"], shapes[name])),
              1e-12);
    EXPECT_EQ(s.tensors.at(name + ".step").item<int64_t>(), last[name]["step"].get<int64_t>()) << name;
  }
}

// A model, its gradients for a few steps, and the same run split in two halves with a
// state_dict / load_state_dict in between.
TEST(AdamW, StateRoundTripContinuesExactly) {
  auto make = [] {
    torch::manual_seed(3);
    return std::vector<torch::Tensor>{torch::randn({4, 3}).requires_grad_(), torch::randn({3}).requires_grad_(),
                                      torch::randn({2, 2}, torch::kBFloat16).requires_grad_()};
  };
  auto groups_of = [](const std::vector<torch::Tensor>& ps) {
    return make_param_groups({{"w", ps[0]}, {"b", ps[1]}, {"lora.w", ps[2]}}, {.weight_decay = 0.1});
  };
  auto grads = [](int step, const std::vector<torch::Tensor>& ps) {
    torch::manual_seed(100 + step);
    for (auto& p : ps) p.mutable_grad() = torch::randn(p.sizes()).to(p.scalar_type());
  };
  auto a = make();
  AdamW full(groups_of(a));
  for (int s = 0; s < 6; ++s) {
    grads(s, a);
    full.step(1e-2);
  }
  auto b = make();
  AdamW first(groups_of(b));
  for (int s = 0; s < 3; ++s) {
    grads(s, b);
    first.step(1e-2);
  }
  OptimizerState saved = first.state_dict();
  for (auto& [k, t] : saved.tensors) t = t.clone();  // what a checkpoint would write
  EXPECT_TRUE(saved.tensors.count("lora.w.master"));  // bf16 parameter: fp32 master weights
  AdamW second(groups_of(b));
  second.load_state_dict(saved);
  for (int s = 3; s < 6; ++s) {
    grads(s, b);
    second.step(1e-2);
  }
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a[i].equal(b[i])) << i;
}

TEST(AdamW, LoadRefusesMismatchedState) {
  auto p = torch::randn({2, 2}).requires_grad_();
  AdamW opt(make_param_groups({{"w", p}}, {}));
  OptimizerState s = opt.state_dict();
  s.tensors.erase("w.exp_avg");
  try {
    opt.load_state_dict(s);
    FAIL();
  } catch (const UserError& e) {
    EXPECT_EQ(e.code(), ExitCode::Checkpoint);
    EXPECT_NE(std::string(e.what()).find("w.exp_avg"), std::string::npos);
  }
  auto q = torch::randn({3}).requires_grad_();
  AdamW other(make_param_groups({{"v", q}}, {}));
  EXPECT_THROW(other.load_state_dict(opt.state_dict()), UserError);
}

TEST(ParamGroups, NoDecayOnNormsBiasesEmbeddingsAndScaledGroups) {
  auto w2 = [] { return torch::zeros({2, 2}, torch::requires_grad()); };
  auto w1 = [] { return torch::zeros({2}, torch::requires_grad()); };
  std::vector<std::pair<std::string, at::Tensor>> named{
      {"model.layers.0.mlp.up_proj.weight", w2()}, {"model.layers.0.input_layernorm.weight", w1()},
      {"model.embed_tokens.weight", w2()},         {"visual.blocks.0.attn.qkv.weight", w2()},
      {"visual.blocks.0.attn.qkv.bias", w1()},     {"frozen.weight", torch::zeros({2, 2})},
      {"lm_head.scale", w1()}};
  ParamGroupRules rules;
  rules.weight_decay = 0.05;
  rules.lr_scale = {{"visual.", 0.1}, {"visual.blocks.0.attn", 0.2}};
  auto groups = make_param_groups(named, rules);
  std::map<std::string, std::pair<double, double>> where;  // name -> (wd, lr_scale)
  for (const auto& g : groups) {
    for (const auto& n : g.names) where[n] = {g.weight_decay, g.lr_scale};
  }
  EXPECT_EQ(where.size(), 6u);  // the frozen parameter is left out
  EXPECT_EQ(where["model.layers.0.mlp.up_proj.weight"], std::make_pair(0.05, 1.0));
  EXPECT_EQ(where["model.layers.0.input_layernorm.weight"], std::make_pair(0.0, 1.0));
  EXPECT_EQ(where["model.embed_tokens.weight"], std::make_pair(0.0, 1.0));
  EXPECT_EQ(where["visual.blocks.0.attn.qkv.weight"], std::make_pair(0.05, 0.2));  // longest match wins
  EXPECT_EQ(where["visual.blocks.0.attn.qkv.bias"], std::make_pair(0.0, 0.2));
  EXPECT_EQ(where["lm_head.scale"], std::make_pair(0.0, 1.0));  // 1-D
  rules.no_decay.clear();
  rules.no_decay_1d = false;
  for (const auto& g : make_param_groups(named, rules)) EXPECT_EQ(g.weight_decay, 0.05) << g.name;
}

TEST(Schedule, WarmupCosineTable) {
  LrSchedule s(1.0, ScheduleKind::Cosine, 4, 14, 0.1);
  // Warmup: (step + 1) / 4, never 0.
  EXPECT_DOUBLE_EQ(s.at(0), 0.25);
  EXPECT_DOUBLE_EQ(s.at(1), 0.5);
  EXPECT_DOUBLE_EQ(s.at(3), 1.0);
  // Cosine over 10 steps from 1.0 to 0.1: 0.1 + 0.9 * 0.5 * (1 + cos(pi * (step - 4) / 10)).
  const double table[] = {1.00000000, 0.97797543, 0.91405765, 0.81450336, 0.68905765,
                          0.55000000, 0.41094235, 0.28549664, 0.18594235, 0.12202457};
  for (int i = 0; i < 10; ++i) EXPECT_NEAR(s.at(4 + i), table[i], 1e-8) << i;
  EXPECT_DOUBLE_EQ(s.at(14), 0.1);
  EXPECT_DOUBLE_EQ(s.at(1000), 0.1);
}

TEST(Schedule, LinearAndConstant) {
  LrSchedule lin(2.0, ScheduleKind::Linear, 0, 4, 0.0);
  const double expect[] = {2.0, 1.5, 1.0, 0.5, 0.0};
  for (int i = 0; i < 5; ++i) EXPECT_DOUBLE_EQ(lin.at(i), expect[i]) << i;
  LrSchedule c(3e-4, ScheduleKind::Constant, 2, 10);
  EXPECT_DOUBLE_EQ(c.at(0), 1.5e-4);
  EXPECT_DOUBLE_EQ(c.at(1), 3e-4);
  EXPECT_DOUBLE_EQ(c.at(50), 3e-4);
  ScheduleConfig cfg;
  cfg.warmup_ratio = 0.1;
  EXPECT_EQ(LrSchedule(1.0, cfg, 95).warmup_steps(), 10);  // round(9.5)
  EXPECT_THROW(LrSchedule(0.0, ScheduleKind::Cosine, 0, 10), UserError);
}

TEST(Clip, NormAndScaleFollowTheDefinition) {
  std::vector<torch::Tensor> g{torch::tensor({3.0f, 4.0f}), torch::tensor({{12.0f}})};
  EXPECT_NEAR(global_grad_norm(g), 13.0, 1e-6);
  double n = clip_grad_norm(g, 1.3);
  EXPECT_NEAR(n, 13.0, 1e-6);
  EXPECT_NEAR(global_grad_norm(g), 1.3, 1e-5);
  std::vector<torch::Tensor> small{torch::tensor({0.3f, 0.4f})};
  clip_grad_norm(small, 1.0);
  EXPECT_TRUE(small[0].equal(torch::tensor({0.3f, 0.4f})));  // below the limit: untouched
  std::vector<torch::Tensor> bad{torch::tensor({NAN, 1.0f})};
  EXPECT_FALSE(std::isfinite(clip_grad_norm(bad, 1.0)));
  EXPECT_EQ(bad[0][1].item<float>(), 1.0f);  // a non-finite norm scales nothing
}

// ZeRO-1 resharding: split a full state for 2 and 3 ranks, merge each back: identical.
TEST(Zero1, SplitAndMergeRoundTripAcrossDataParallelSizes) {
  ShardLayoutSpec spec;
  spec.names = {"a", "b", "c"};
  spec.params = {{12, at::kFloat, at::kCPU}, {5, at::kFloat, at::kCPU}, {33, at::kBFloat16, at::kCPU}};
  spec.shapes = {{3, 4}, {5}, {3, 11}};
  spec.bucket_bytes = 40;
  OptimizerState full;
  full.meta = {{"optimizer", "adamw"}, {"groups", nlohmann::json::array()}};
  torch::manual_seed(1);
  for (size_t k = 0; k < spec.names.size(); ++k) {
    const auto& n = spec.names[k];
    full.tensors[n + ".exp_avg"] = torch::randn(spec.shapes[k]);
    full.tensors[n + ".exp_avg_sq"] = torch::rand(spec.shapes[k]);
    full.tensors[n + ".step"] = torch::scalar_tensor(7, torch::kLong);
    if (spec.params[k].dtype == at::kBFloat16) full.tensors[n + ".master"] = torch::randn(spec.shapes[k]);
  }
  for (int parts : {1, 2, 3}) {
    std::vector<OptimizerState> shards;
    for (int r = parts - 1; r >= 0; --r) shards.push_back(split_full_state(full, spec, parts, r));
    OptimizerState back = merge_shard_states(shards);
    ASSERT_EQ(back.tensors.size(), full.tensors.size()) << parts;
    for (const auto& [name, t] : full.tensors) EXPECT_TRUE(back.tensors.at(name).equal(t)) << name << " " << parts;
    // A shard of a 3-way split and its layout spec are enough to re-split for 2 ranks.
    ShardLayoutSpec again = layout_spec_from_meta(shards[0].meta);
    EXPECT_EQ(again.names, spec.names);
  }
  std::vector<OptimizerState> missing{split_full_state(full, spec, 3, 0), split_full_state(full, spec, 3, 1)};
  EXPECT_THROW(merge_shard_states(missing), UserError);
}

// ZeRO-1 over a one-process group is plain AdamW.
TEST(Zero1, SingleRankEqualsAdamW) {
  auto make = [] {
    torch::manual_seed(5);
    return std::vector<torch::Tensor>{torch::randn({6, 5}).requires_grad_(), torch::randn({5}).requires_grad_()};
  };
  auto a = make(), b = make();
  AdamW plain(make_param_groups({{"w", a[0]}, {"bias", a[1]}}, {.weight_decay = 0.1}));
  dist::GradSync sync(b, dist::Group::local("dp", at::kCPU), {.bucket_bytes = 48, .shard = true});
  ZeroAdamW zero(make_param_groups({{"w", b[0]}, {"bias", b[1]}}, {.weight_decay = 0.1}), sync);
  for (int s = 0; s < 4; ++s) {
    torch::manual_seed(10 + s);
    auto x = torch::randn({3, 6});
    (torch::mm(x, a[0]) + a[1]).pow(2).sum().backward();
    (torch::mm(x, b[0]) + b[1]).pow(2).sum().backward();
    sync.finish();
    plain.step(1e-2);
    zero.step(1e-2);
    for (auto& p : a) p.mutable_grad().zero_();
    sync.zero_grad();
  }
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::allclose(a[i], b[i], 1e-6, 1e-7)) << i;
  OptimizerState s = zero.state_dict();
  AdamW restored(make_param_groups({{"w", a[0]}, {"bias", a[1]}}, {.weight_decay = 0.1}));
  restored.load_state_dict(s);
  EXPECT_EQ(restored.state_dict().tensors.at("w.step").item<int64_t>(), 4);
  EXPECT_LT(zero.memory().state_bytes, 2 * 4 * 40 + 200);
}

TEST(OptimConfig, FactoryPicksTheOptimizer) {
  OptimConfig cfg;
  auto p = torch::randn({2, 2}).requires_grad_();
  auto opt = make_optimizer(cfg, {{"w", p}});
  EXPECT_NE(dynamic_cast<AdamW*>(opt.get()), nullptr);
  EXPECT_EQ(opt->memory().state_bytes, 2 * 4 * 4);
}

}  // namespace
}  // namespace ec::optim
