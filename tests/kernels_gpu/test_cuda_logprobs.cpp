// The CUDA implementation of the fused losses against the reference implementation and naive
// LibTorch autograd, on a GPU. Every test skips cleanly without a GPU or without the CUDA kernels.
#include <gtest/gtest.h>

#include <torch/cuda.h>
#include <torch/nn.h>

#include "kernels/cross_entropy.h"
#include "kernels/dpo_loss.h"
#include "kernels/linear_logprobs.h"
#include "tests/kernels/naive.h"

namespace ec {
namespace {

using kernels::LogprobImpl;
using kernels::LogprobOptions;

#define REQUIRE_GPU()                                                                     \
  do {                                                                                    \
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";                   \
    if (!kernels::cuda_kernels_available()) GTEST_SKIP() << "built without CUDA kernels"; \
  } while (0)

struct Problem {
  torch::Tensor hidden, weight, labels;
};

Problem make_problem(int64_t n, int64_t d, int64_t v, double ignore_fraction, uint64_t seed, torch::Dtype dtype,
                     double scale = 1.0) {
  torch::manual_seed(seed);
  Problem p;
  p.hidden = (torch::randn({n, d}) * scale).to(dtype).cuda();
  p.weight = (torch::randn({v, d}) / std::sqrt(static_cast<double>(d))).to(dtype).cuda();
  p.labels = torch::randint(0, v, {n}, torch::kLong);
  p.labels.masked_fill_(torch::rand({n}) < ignore_fraction, -100);
  p.labels = p.labels.cuda();
  return p;
}

struct Outcome {
  torch::Tensor logp, mean_logp, entropy, correct, d_hidden, d_weight;
};

torch::Tensor upstream(const torch::Tensor& labels, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::randn(labels.sizes()).to(labels.device());
}

Outcome run_fused(const Problem& p, const LogprobOptions& o) {
  torch::Tensor h = p.hidden.detach().clone().requires_grad_(true);
  torch::Tensor w = p.weight.detach().clone().requires_grad_(true);
  auto r = kernels::fused_linear_logprobs(h, w, p.labels, o);
  ((r.logp * upstream(p.labels, 1)).sum() + (r.mean_logp * upstream(p.labels, 2)).sum()).backward();
  return {r.logp.detach(), r.mean_logp.detach(), r.entropy, r.correct, h.grad(), w.grad()};
}

Outcome run_naive(const Problem& p, torch::Dtype dtype) {
  torch::Tensor h = p.hidden.detach().to(dtype).requires_grad_(true);
  torch::Tensor w = p.weight.detach().to(dtype).requires_grad_(true);
  auto r = test::naive_logprobs(h, w, p.labels);
  ((r.logp * upstream(p.labels, 1)).sum() + (r.mean_logp * upstream(p.labels, 2)).sum()).backward();
  return {r.logp.detach(), r.mean_logp.detach(), r.entropy, r.correct, h.grad(), w.grad()};
}

LogprobOptions options(LogprobImpl impl, int64_t tokens = 0, int64_t vocab = 0, bool deterministic = false) {
  LogprobOptions o;
  o.impl = impl;
  o.tiling.token_chunk = tokens;
  o.tiling.vocab_block = vocab;
  o.deterministic = deterministic;
  return o;
}

void expect_close(const Outcome& a, const Outcome& b, double tol) {
  EXPECT_LE(test::rel_error(a.logp, b.logp), tol);
  EXPECT_LE(test::rel_error(a.mean_logp, b.mean_logp), tol);
  EXPECT_LE(test::rel_error(a.entropy, b.entropy), tol);
  EXPECT_LE(test::rel_error(a.d_hidden, b.d_hidden), tol);
  EXPECT_LE(test::rel_error(a.d_weight, b.d_weight), tol);
  EXPECT_TRUE(a.correct.equal(b.correct));
}

TEST(CudaLogprobs, Fp32MatchesNaiveAndReference) {
  REQUIRE_GPU();
  Problem p = make_problem(300, 64, 1009, 0.3, 1, torch::kFloat);
  Outcome naive = run_naive(p, torch::kFloat);
  Outcome reference = run_fused(p, options(LogprobImpl::Reference, 64, 100));
  for (auto [t, v] : std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {64, 100}, {37, 129}, {1, 1009}, {300, 7}}) {
    SCOPED_TRACE(fmt::format("tile {}x{}", t, v));
    Outcome cuda = run_fused(p, options(LogprobImpl::Cuda, t, v));
    expect_close(cuda, naive, 1e-5);
    expect_close(cuda, reference, 1e-5);
  }
}

TEST(CudaLogprobs, MatchesTheCpuReference) {
  REQUIRE_GPU();
  Problem p = make_problem(200, 96, 3001, 0.2, 2, torch::kFloat);
  Problem cpu{p.hidden.cpu(), p.weight.cpu(), p.labels.cpu()};
  Outcome c = run_fused(cpu, options(LogprobImpl::Reference));
  Outcome g = run_fused(p, options(LogprobImpl::Cuda));
  expect_close({g.logp.cpu(), g.mean_logp.cpu(), g.entropy.cpu(), g.correct.cpu(), g.d_hidden.cpu(), g.d_weight.cpu()},
               c, 1e-5);
}

TEST(CudaLogprobs, LowPrecisionErrorAtMostTwiceNaive) {
  REQUIRE_GPU();
  for (torch::Dtype dtype : {torch::kBFloat16, torch::kHalf}) {
    for (auto [t, v] : std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {200, 1024}}) {
      SCOPED_TRACE(fmt::format("{} tile {}x{}", c10::toString(dtype), t, v));
      Problem p = make_problem(1024, 256, 5003, 0.2, 3, dtype, 3.0);
      Outcome exact = run_naive(p, torch::kFloat);
      Outcome naive = run_naive(p, dtype);
      Outcome cuda = run_fused(p, options(LogprobImpl::Cuda, t, v));
      auto check = [](const torch::Tensor& f, const torch::Tensor& n, const torch::Tensor& e, const char* what) {
        double ef = test::max_abs_error(f, e), en = test::max_abs_error(n, e);
        EXPECT_LE(ef, 2.0 * en + 1e-6) << what << ": fused " << ef << " naive " << en;
      };
      check(cuda.logp, naive.logp, exact.logp, "logp");
      check(cuda.entropy, naive.entropy, exact.entropy, "entropy");
      check(cuda.d_hidden, naive.d_hidden, exact.d_hidden, "d_hidden");
      check(cuda.d_weight, naive.d_weight, exact.d_weight, "d_weight");
    }
  }
}

TEST(CudaLogprobs, DeterministicRunsAreBitwiseIdentical) {
  REQUIRE_GPU();
  Problem p = make_problem(2000, 512, 32003, 0.1, 4, torch::kBFloat16);
  LogprobOptions o = options(LogprobImpl::Cuda, 700, 4096, true);
  Outcome a = run_fused(p, o), b = run_fused(p, o);
  EXPECT_TRUE(a.logp.equal(b.logp));
  EXPECT_TRUE(a.entropy.equal(b.entropy));
  EXPECT_TRUE(a.d_hidden.equal(b.d_hidden));
  EXPECT_TRUE(a.d_weight.equal(b.d_weight));
}

TEST(CudaLogprobs, EdgeCases) {
  REQUIRE_GPU();
  {  // N = 1
    Problem p = make_problem(1, 32, 97, 0.0, 5, torch::kFloat);
    expect_close(run_fused(p, options(LogprobImpl::Cuda)), run_naive(p, torch::kFloat), 1e-5);
  }
  {  // everything ignored
    Problem p = make_problem(9, 32, 97, 1.0, 6, torch::kFloat);
    Outcome o = run_fused(p, options(LogprobImpl::Cuda));
    EXPECT_TRUE(o.logp.eq(0).all().item<bool>());
    EXPECT_TRUE(o.d_weight.eq(0).all().item<bool>());
  }
  {  // logits around 1e4
    Problem p = make_problem(64, 64, 257, 0.1, 7, torch::kFloat, 1500.0);
    Outcome o = run_fused(p, options(LogprobImpl::Cuda, 16, 50));
    EXPECT_TRUE(torch::isfinite(o.logp).all().item<bool>());
    EXPECT_TRUE(torch::isfinite(o.d_weight).all().item<bool>());
    expect_close(o, run_naive(p, torch::kFloat), 1e-5);
  }
}

TEST(CudaLogprobs, DeterministicSequenceSumsMatchIndexAdd) {
  REQUIRE_GPU();
  torch::manual_seed(8);
  torch::Tensor lp = torch::randn({5000}).cuda();
  torch::Tensor valid = (torch::rand({5000}) < 0.8).cuda();
  torch::Tensor seq = torch::randint(-1, 40, {5000}, torch::kLong).cuda();
  auto a = kernels::sequence_logps(lp, valid, seq, 40, false, true);
  auto b = kernels::sequence_logps(lp, valid, seq, 40, false, false);
  EXPECT_LE(test::rel_error(a, b), 1e-12);
  EXPECT_TRUE(a.equal(kernels::sequence_logps(lp, valid, seq, 40, false, true)));
}

TEST(CudaLogprobs, DpoAndCrossEntropyMatchTheCpu) {
  REQUIRE_GPU();
  Problem p = make_problem(240, 64, 1500, 0.5, 9, torch::kFloat);
  torch::Tensor seq = torch::arange(240, torch::kLong).div(20, "floor").cuda();  // 12 sequences: 6 pairs
  torch::Tensor ref_c = -torch::rand({6}, torch::kDouble).cuda() * 20, ref_r = -torch::rand({6}, torch::kDouble).cuda() * 20;
  auto loss_and_grads = [&](const torch::Device& dev) {
    torch::Tensor h = p.hidden.to(dev).clone().requires_grad_(true), w = p.weight.to(dev).clone().requires_grad_(true);
    kernels::DpoOptions d;
    d.logprobs.deterministic = true;
    auto dpo = kernels::fused_dpo_loss(h, w, p.labels.to(dev), seq.to(dev),
                                       kernels::DpoPairs{ref_c.to(dev), ref_r.to(dev), {}, {}}, d);
    kernels::CrossEntropyOptions c;
    c.label_smoothing = 0.1;
    auto ce = kernels::fused_cross_entropy(h, w, p.labels.to(dev), c);
    torch::Tensor loss = dpo.loss + ce.loss;
    loss.backward();
    return std::vector<torch::Tensor>{loss.detach().cpu(), h.grad().cpu(), w.grad().cpu()};
  };
  auto g = loss_and_grads(torch::kCUDA);
  auto c = loss_and_grads(torch::kCPU);
  for (size_t i = 0; i < g.size(); ++i) EXPECT_LE(test::rel_error(g[i], c[i]), 1e-5) << i;
}

}  // namespace
}  // namespace ec
