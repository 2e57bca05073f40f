// ProcessGroupNCCL at world size 1 (all-reduce, broadcast, all-gather, reduce-scatter, agreement)
// and the fused CUDA AdamW against the _foreach path. Skips without a GPU.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "editcaption/dist/agree.h"
#include "editcaption/dist/backend.h"
#include "editcaption/dist/group.h"
#include "tests/dist/dist_test_util.h"
#include "trainers/optim/adamw_math.h"

namespace ec::dist {
namespace {

TEST(Nccl, WorldSizeOneCollectives) {
  if (!nccl_available()) GTEST_SKIP() << "no CUDA device";
  c10d::TCPStoreOptions o;
  o.port = 0;
  o.isServer = true;
  o.waitWorkers = false;
  auto store = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", o);
  auto backend = make_nccl_backend(store, 0, 1, std::chrono::seconds(60), 0, "test");
  Group::Setup s;
  s.name = "nccl";
  s.global_ranks = {0};
  s.device = at::Device(at::kCUDA, 0);
  auto g = std::make_shared<Group>(s, backend);
  EXPECT_EQ(g->backend_name(), "nccl");
  auto opts = torch::TensorOptions().device(torch::kCUDA);
  auto t = torch::arange(8, opts.dtype(torch::kFloat));
  g->all_reduce(t);
  EXPECT_TRUE(t.cpu().equal(torch::arange(8, torch::kFloat)));
  auto b = torch::full({4}, 3.0, opts.dtype(torch::kBFloat16));
  g->broadcast(b, 0);
  EXPECT_EQ(b.sum().item<float>(), 12.0f);
  auto out = torch::empty({8}, opts);
  auto in = torch::ones({8}, opts);
  g->all_gather(out, in);
  g->reduce_scatter(out, in);
  EXPECT_EQ(out.sum().item<float>(), 8.0f);
  EXPECT_TRUE(agree_any(*g, true));
  EXPECT_EQ(all_reduce_int(*g, 5), 5);
  g->shutdown();
}

TEST(Nccl, FusedAdamWMatchesForeach) {
  if (!nccl_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(0);
  auto make = [] {
    std::vector<torch::Tensor> v;
    for (int i = 0; i < 3; ++i) v.push_back(torch::randn({17, 5}, torch::kCUDA));
    return v;
  };
  auto p1 = make(), g = make();
  std::vector<torch::Tensor> p2, m1, v1, m2, v2;
  for (auto& p : p1) {
    p2.push_back(p.clone());
    m1.push_back(torch::zeros_like(p));
    v1.push_back(torch::zeros_like(p));
    m2.push_back(torch::zeros_like(p));
    v2.push_back(torch::zeros_like(p));
  }
  optim::AdamWHyper h{1e-2, 0.9, 0.95, 1e-8, 0.1};
  for (int64_t step = 1; step <= 3; ++step) {
    optim::adamw_update(p1, g, m1, v1, {step, step, step}, h, /*fused=*/true);
    optim::adamw_update(p2, g, m2, v2, {step, step, step}, h, /*fused=*/false);
  }
  for (size_t i = 0; i < p1.size(); ++i) EXPECT_TRUE(torch::allclose(p1[i], p2[i], 1e-6, 1e-6)) << i;
}

}  // namespace
}  // namespace ec::dist
