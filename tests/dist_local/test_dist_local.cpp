// Single-process pieces of the distributed layer: the launcher environment, the mesh arithmetic,
// bucket layouts, the tensor-parallel operators without a group and GradSync over a local group.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>

#include "editcaption/core/error.h"
#include "editcaption/dist/agree.h"
#include "editcaption/dist/buckets.h"
#include "editcaption/dist/env.h"
#include "editcaption/dist/grad_sync.h"
#include "editcaption/dist/mesh.h"
#include "editcaption/dist/tp.h"
#include "editcaption/dist/world.h"

namespace ec::dist {
namespace {

EnvLookup fake(std::map<std::string, std::string> vars) {
  return [vars](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(DistEnv, SingleProcessWithoutVariables) {
  DistEnv e = read_dist_env(fake({}));
  EXPECT_EQ(e.world_size, 1);
  EXPECT_EQ(e.rank, 0);
  EXPECT_EQ(e.source, "single");
}

TEST(DistEnv, TorchrunVariables) {
  DistEnv e = read_dist_env(fake({{"RANK", "5"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"}, {"LOCAL_WORLD_SIZE", "4"},
                                  {"MASTER_ADDR", "node7"}, {"MASTER_PORT", "1234"},
                                  {"TORCHELASTIC_USE_AGENT_STORE", "True"}, {"TORCHELASTIC_RESTART_COUNT", "2"}}));
  EXPECT_EQ(e.rank, 5);
  EXPECT_EQ(e.world_size, 8);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.local_world_size, 4);
  EXPECT_EQ(e.master_addr, "node7");
  EXPECT_EQ(e.master_port, 1234);
  EXPECT_TRUE(e.launcher_store);
  EXPECT_EQ(e.attempt, 2);
  EXPECT_EQ(e.source, "torchrun");
}

TEST(DistEnv, BadVariablesAreUsageErrorsNamingThem) {
  auto code_and_message = [](std::map<std::string, std::string> vars) -> std::pair<int, std::string> {
    try {
      read_dist_env(fake(std::move(vars)));
    } catch (const UserError& e) {
      return {static_cast<int>(e.code()), e.what()};
    }
    return {0, ""};
  };
  auto [c1, m1] = code_and_message({{"RANK", "x"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"}, {"MASTER_PORT", "1"}});
  EXPECT_EQ(c1, 2);
  EXPECT_NE(m1.find("RANK"), std::string::npos) << m1;
  auto [c2, m2] = code_and_message({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"}, {"MASTER_PORT", "1"}});
  EXPECT_EQ(c2, 2);
  EXPECT_NE(m2.find("rank 2 is not below the world size 2"), std::string::npos) << m2;
  auto [c3, m3] = code_and_message({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "1"}});
  EXPECT_NE(m3.find("MASTER_ADDR"), std::string::npos) << m3;
}

TEST(DistEnv, SlurmFallback) {
  DistEnv e = read_dist_env(fake({{"SLURM_PROCID", "9"}, {"SLURM_NTASKS", "16"}, {"SLURM_LOCALID", "1"},
                                  {"SLURM_NTASKS_PER_NODE", "8"}, {"SLURM_JOB_NODELIST", "gpu[007-009,012],cpu1"},
                                  {"SLURM_JOB_ID", "123456"}}));
  EXPECT_EQ(e.source, "slurm");
  EXPECT_EQ(e.rank, 9);
  EXPECT_EQ(e.world_size, 16);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.local_world_size, 8);
  EXPECT_EQ(e.master_addr, "gpu007");
  EXPECT_EQ(e.master_port, 20000 + 123456 % 20000);
  EXPECT_FALSE(e.launcher_store);
}

TEST(DistEnv, FirstSlurmHost) {
  EXPECT_EQ(first_slurm_host("node1"), "node1");
  EXPECT_EQ(first_slurm_host("a,b,c"), "a");
  EXPECT_EQ(first_slurm_host("gpu[07-09]"), "gpu07");
  EXPECT_EQ(first_slurm_host("gpu[12,3-4]x,b"), "gpu12x");
  EXPECT_EQ(first_slurm_host("rack[1-2]-n[3-4]"), "rack1-n[3-4]");
}

TEST(Mesh, ResolveAndGroups) {
  MeshShape m = resolve_mesh(8, 0, 2);
  EXPECT_EQ(m.dp, 4);
  EXPECT_EQ(m.tp, 2);
  EXPECT_EQ(m.tp_ranks(1), (std::vector<int>{2, 3}));
  EXPECT_EQ(m.dp_ranks(1), (std::vector<int>{1, 3, 5, 7}));
  EXPECT_EQ(m.dp_index(5), 2);
  EXPECT_EQ(m.tp_index(5), 1);
  EXPECT_THROW(resolve_mesh(8, 0, 3), UserError);
  EXPECT_THROW(resolve_mesh(8, 3, 2), UserError);
}

TEST(Mesh, TensorParallelMustDivideTheModel) {
  // Qwen2.5-VL-7B: 28 heads, 4 KV heads, MLP 18944.
  EXPECT_NO_THROW(check_tp_divides(4, 28, 4, 18944));
  try {
    check_tp_divides(8, 28, 4, 18944, "Qwen2.5-VL-7B");
    FAIL() << "tp = 8 must be refused";
  } catch (const UserError& e) {
    std::string m = e.what();
    EXPECT_EQ(e.code(), ExitCode::Usage);
    EXPECT_NE(m.find("dist.tp = 8 cannot split Qwen2.5-VL-7B"), std::string::npos) << m;
    EXPECT_NE(m.find("28 attention heads"), std::string::npos) << m;
    EXPECT_NE(m.find("sizes that fit: 1, 2, 4"), std::string::npos) << m;
  }
  EXPECT_THROW(check_tp_divides(3, 24, 3, 100), UserError);  // the MLP width
}

TEST(Mesh, RankSeedsDiffer) {
  EXPECT_EQ(rank_seed(1, 0, 0, "dropout"), rank_seed(1, 0, 0, "dropout"));
  EXPECT_NE(rank_seed(1, 0, 0, "dropout"), rank_seed(1, 1, 0, "dropout"));
  EXPECT_NE(rank_seed(1, 0, 0, "dropout"), rank_seed(1, 0, 1, "dropout"));
  EXPECT_NE(rank_seed(1, 0, 0, "dropout"), rank_seed(1, 0, 0, "lora"));
  EXPECT_NE(rank_seed(1, 0, 0, "dropout"), rank_seed(2, 0, 0, "dropout"));
}

TEST(Buckets, ReverseOrderSizeAndPadding) {
  std::vector<ParamInfo> ps{{10, at::kFloat, at::kCPU}, {20, at::kFloat, at::kCPU}, {5, at::kBFloat16, at::kCPU},
                            {7, at::kFloat, at::kCPU}};
  BucketLayout l = plan_buckets(ps, /*bucket_bytes=*/64, /*parts=*/3);
  // Reverse order: p3 (fp32) alone because p2 is bf16; then p2; then p1 + p0 (p1 fills 80 >= 64 bytes).
  ASSERT_EQ(l.buckets.size(), 4u);
  EXPECT_EQ(l.buckets[0].slots[0].param, 3);
  EXPECT_EQ(l.buckets[1].dtype, at::kBFloat16);
  EXPECT_EQ(l.buckets[2].slots.size(), 1u);
  EXPECT_EQ(l.buckets[2].slots[0].param, 1);
  EXPECT_EQ(l.buckets[3].slots[0].param, 0);
  for (const auto& b : l.buckets) {
    EXPECT_EQ(b.padded % 3, 0);
    for (const auto& s : b.slots) EXPECT_EQ(s.offset % BucketLayout::kAlign, 0);
  }
  // Every element of every parameter is in exactly one shard.
  std::vector<int64_t> covered(ps.size(), 0);
  for (int part = 0; part < 3; ++part) {
    for (const auto& piece : l.pieces(part)) covered[piece.param] += piece.size();
  }
  for (size_t i = 0; i < ps.size(); ++i) EXPECT_EQ(covered[i], ps[i].numel);
}

TEST(TensorParallel, IdentityWithoutGroup) {
  auto x = torch::randn({2, 3, 4}, torch::requires_grad());
  EXPECT_TRUE(tp_copy(x, nullptr).equal(x));
  EXPECT_TRUE(tp_reduce(x, nullptr).equal(x));
  EXPECT_TRUE(tp_gather_last(x, nullptr).equal(x));
  EXPECT_TRUE(tp_split_last(x, nullptr).equal(x));
  EXPECT_EQ(tp_size(nullptr), 1);
  EXPECT_EQ(tp_rank(nullptr), 0);
}

TEST(TensorParallel, ShardingHelpers) {
  auto w = torch::arange(24, torch::kFloat).view({4, 6});
  EXPECT_TRUE(shard_rows(w, 1, 2).equal(w.narrow(0, 2, 2)));
  EXPECT_TRUE(shard_cols(w, 2, 3).equal(w.narrow(1, 4, 2)));
  // Fused rows [q(2) | k(2)] over 2 ranks: rank 1 gets q row 1 and k row 3.
  auto f = shard_rows_fused(w, {2, 2}, 1, 2);
  EXPECT_TRUE(f.equal(torch::stack({w[1], w[3]})));
  // Column-parallel then row-parallel reproduces the full product.
  auto x = torch::randn({5, 6});
  auto a = torch::randn({8, 6}), b = torch::randn({6, 8});
  auto full = torch::mm(torch::mm(x, a.t()), b.t());
  auto sum = torch::zeros_like(full);
  for (int r = 0; r < 2; ++r) sum += torch::mm(torch::mm(x, shard_rows(a, r, 2).t()), shard_cols(b, r, 2).t());
  EXPECT_TRUE(torch::allclose(sum, full, 1e-5, 1e-5));
}

TEST(World, SingleProcessNeedsNoRendezvous) {
  DistConfig cfg;
  cfg.backend = BackendKind::Gloo;
  World w(cfg, read_dist_env(fake({})));
  EXPECT_EQ(w.size(), 1);
  EXPECT_EQ(w.tp()->size(), 1);
  EXPECT_EQ(w.dp_group()->size(), 1);
  auto t = torch::ones({3});
  w.world().all_reduce(t);
  EXPECT_TRUE(t.equal(torch::ones({3})));
  EXPECT_TRUE(agree_any(w.world(), true));
  EXPECT_FALSE(agree_all(w.world(), false));
  EXPECT_EQ(all_reduce_int(w.world(), 41), 41);
  w.finish();
}

TEST(World, BadLayoutIsRefusedBeforeConnecting) {
  DistConfig cfg;
  cfg.tp = 3;
  EXPECT_THROW(World(cfg, read_dist_env(fake({{"RANK", "0"}, {"WORLD_SIZE", "4"}, {"MASTER_ADDR", "127.0.0.1"},
                                                {"MASTER_PORT", "1"}}))),
               UserError);
}

// GradSync over a one-process group: the bucket views, the scale, accumulation without sync.
struct TinyNet {
  torch::nn::Linear a{4, 3}, b{3, 2};
  std::vector<torch::Tensor> params() const {
    auto p = a->parameters();
    auto q = b->parameters();
    p.insert(p.end(), q.begin(), q.end());
    return p;
  }
  torch::Tensor loss(const torch::Tensor& x) { return b->forward(torch::tanh(a->forward(x))).pow(2).sum(); }
};

TEST(GradSync, LocalGroupScalesAndAccumulates) {
  torch::manual_seed(0);
  TinyNet net;
  auto x1 = torch::randn({5, 4}), x2 = torch::randn({5, 4});
  // Reference: plain autograd on the same two micro-batches, scaled.
  for (auto& p : net.params()) p.mutable_grad() = torch::Tensor();
  (net.loss(x1) + net.loss(x2)).backward();
  std::vector<torch::Tensor> expected;
  for (auto& p : net.params()) expected.push_back(p.grad().clone() * 0.25);
  for (auto& p : net.params()) p.mutable_grad() = torch::Tensor();

  GradSync sync(net.params(), Group::local("dp", at::kCPU), {.bucket_bytes = 32});
  EXPECT_GE(sync.layout().buckets.size(), 2u);
  sync.set_sync(false);
  net.loss(x1).backward();
  sync.set_sync(true);
  sync.set_grad_scale(0.25);
  net.loss(x2).backward();
  sync.finish();
  auto ps = net.params();
  for (size_t i = 0; i < ps.size(); ++i) EXPECT_TRUE(torch::allclose(ps[i].grad(), expected[i], 1e-6, 1e-6)) << i;
  EXPECT_EQ(sync.stats().launched_during_backward, static_cast<int>(sync.layout().buckets.size()));
  sync.zero_grad();
  for (auto& p : ps) {
    ASSERT_TRUE(p.grad().defined());
    EXPECT_EQ(p.grad().abs().sum().item<float>(), 0.0f);
  }
  // Grads are views of the buckets: dropping one is repaired by zero_grad.
  ps[0].mutable_grad() = torch::Tensor();
  sync.zero_grad();
  EXPECT_TRUE(ps[0].grad().defined());
}

TEST(GradSync, UnusedParameterStillGetsReducedAndSecondBackwardIsRefused) {
  torch::manual_seed(0);
  TinyNet net;
  auto unused = torch::zeros({3}, torch::requires_grad());
  auto params = net.params();
  params.push_back(unused);
  GradSync sync(params, Group::local("dp", at::kCPU), {.bucket_bytes = 1 << 20});
  net.loss(torch::randn({2, 4})).backward();
  sync.finish();  // the bucket holding `unused` never filled: finish() reduces it
  EXPECT_EQ(unused.grad().abs().sum().item<float>(), 0.0f);
  sync.zero_grad();
  net.loss(torch::randn({2, 4})).backward();
  EXPECT_THROW(net.loss(torch::randn({2, 4})).backward(), std::exception);
}

TEST(GradSync, Bf16ReductionRoundsOnlyTheReduction) {
  torch::manual_seed(0);
  TinyNet net;
  GradSync sync(net.params(), Group::local("dp", at::kCPU), {.reduce_dtype = at::kBFloat16});
  net.loss(torch::randn({3, 4})).backward();
  sync.finish();
  for (auto& p : net.params()) {
    EXPECT_EQ(p.grad().scalar_type(), at::kFloat);
    EXPECT_TRUE(p.grad().equal(p.grad().to(at::kBFloat16).to(at::kFloat)));  // bf16-representable values
  }
}

}  // namespace
}  // namespace ec::dist
