// fused_linear_logprobs against naive LibTorch autograd (full logits, log_softmax, gather).
// Tolerances: fp32 values and gradients within 1e-5 normwise relative error; bf16 error against an
// fp32 computation on the same (bf16-rounded) inputs at most twice the naive bf16 computation's.
#include <gtest/gtest.h>

#include <torch/nn.h>

#include "editcaption/core/error.h"
#include "kernels/linear_logprobs.h"
#include "tests/kernels/naive.h"

namespace ec {
namespace {

using kernels::LogprobOptions;
using test::rel_error;

struct Problem {
  torch::Tensor hidden, weight, labels;
};

Problem make_problem(int64_t n, int64_t d, int64_t v, double ignore_fraction, uint64_t seed,
                     double scale = 1.0, torch::Dtype dtype = torch::kFloat) {
  torch::manual_seed(seed);
  Problem p;
  p.hidden = (torch::randn({n, d}) * scale).to(dtype);
  p.weight = (torch::randn({v, d}) / std::sqrt(static_cast<double>(d))).to(dtype);
  p.labels = torch::randint(0, v, {n}, torch::kLong);
  torch::Tensor drop = torch::rand({n}) < ignore_fraction;
  p.labels.masked_fill_(drop, -100);
  return p;
}

struct Outcome {
  torch::Tensor logp, mean_logp, entropy, correct, d_hidden, d_weight;
};

/// Runs the fused op and backpropagates loss = sum(a * logp) + sum(b * mean_logp) with fixed random
/// per-token upstream gradients (so that every token's gradient differs).
Outcome run_fused(const Problem& p, const LogprobOptions& o, bool with_mean = true) {
  torch::Tensor h = p.hidden.detach().clone().requires_grad_(true);
  torch::Tensor w = p.weight.detach().clone().requires_grad_(true);
  auto r = kernels::fused_linear_logprobs(h, w, p.labels, o);
  torch::manual_seed(99);
  torch::Tensor a = torch::randn(p.labels.sizes()), b = torch::randn(p.labels.sizes());
  torch::Tensor loss = (r.logp * a).sum();
  if (with_mean) loss = loss + (r.mean_logp * b).sum();
  loss.backward();
  return {r.logp.detach(), r.mean_logp.detach(), r.entropy, r.correct, h.grad(), w.grad()};
}

Outcome run_naive(const Problem& p, torch::Dtype dtype, bool with_mean = true) {
  torch::Tensor h = p.hidden.detach().to(dtype).requires_grad_(true);
  torch::Tensor w = p.weight.detach().to(dtype).requires_grad_(true);
  auto r = test::naive_logprobs(h, w, p.labels);
  torch::manual_seed(99);
  torch::Tensor a = torch::randn(p.labels.sizes()), b = torch::randn(p.labels.sizes());
  torch::Tensor loss = (r.logp * a).sum();
  if (with_mean) loss = loss + (r.mean_logp * b).sum();
  loss.backward();
  return {r.logp.detach(), r.mean_logp.detach(), r.entropy, r.correct, h.grad(), w.grad()};
}

void expect_close(const Outcome& fused, const Outcome& naive, double tol, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_LE(rel_error(fused.logp, naive.logp), tol);
  EXPECT_LE(rel_error(fused.mean_logp, naive.mean_logp), tol);
  EXPECT_LE(rel_error(fused.entropy, naive.entropy), tol);
  EXPECT_LE(rel_error(fused.d_hidden, naive.d_hidden), tol);
  EXPECT_LE(rel_error(fused.d_weight, naive.d_weight), tol);
  EXPECT_TRUE(fused.correct.equal(naive.correct));
}

LogprobOptions tiled(int64_t tokens, int64_t vocab) {
  LogprobOptions o;
  o.tiling.token_chunk = tokens;
  o.tiling.vocab_block = vocab;
  return o;
}

TEST(FusedLogprobs, Fp32MatchesNaiveForManyTilings) {
  // Prime sizes; tiles that divide nothing, one tile, and single rows/columns.
  Problem p = make_problem(37, 29, 101, 0.3, 1);
  Outcome naive = run_naive(p, torch::kFloat);
  for (auto [t, v] : std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {5, 7}, {37, 13}, {1, 101}, {64, 1}, {3, 100}}) {
    expect_close(run_fused(p, tiled(t, v)), naive, 1e-5, fmt::format("tile {}x{}", t, v));
  }
}

TEST(FusedLogprobs, BatchedShapeAndIgnoredPositionsAreZero) {
  Problem p = make_problem(24, 16, 53, 0.5, 2);
  Problem b{p.hidden.view({4, 6, 16}), p.weight, p.labels.view({4, 6})};
  Outcome fused = run_fused(b, tiled(4, 10));
  Outcome naive = run_naive(b, torch::kFloat);
  expect_close(fused, naive, 1e-5, "batched");
  EXPECT_EQ(fused.logp.sizes(), b.labels.sizes());
  torch::Tensor ignored = b.labels.eq(-100);
  EXPECT_TRUE(fused.logp.masked_select(ignored).eq(0).all().item<bool>());
  EXPECT_TRUE(fused.d_hidden.view({24, 16}).index({ignored.view({24})}).eq(0).all().item<bool>());
}

TEST(FusedLogprobs, SingleToken) {
  Problem p = make_problem(1, 8, 17, 0.0, 3);
  expect_close(run_fused(p, {}), run_naive(p, torch::kFloat), 1e-5, "N=1");
  expect_close(run_fused(p, tiled(1, 4)), run_naive(p, torch::kFloat), 1e-5, "N=1 tiled");
}

TEST(FusedLogprobs, EverythingIgnoredGivesZerosAndZeroGradients) {
  Problem p = make_problem(6, 8, 11, 1.0, 4);
  auto r = kernels::fused_linear_logprobs(p.hidden, p.weight, p.labels);
  EXPECT_EQ(r.num_valid, 0);
  Outcome fused = run_fused(p, {});
  EXPECT_TRUE(fused.logp.eq(0).all().item<bool>());
  EXPECT_TRUE(fused.d_hidden.eq(0).all().item<bool>());
  EXPECT_TRUE(fused.d_weight.eq(0).all().item<bool>());
}

TEST(FusedLogprobs, HugeLogitsStayFinite) {
  // |logits| around 1e4: the online log-sum-exp must not overflow, and entropy is computed relative
  // to the running max so it keeps its precision.
  Problem p = make_problem(19, 16, 41, 0.2, 5, /*scale=*/2500.0);
  Outcome naive = run_naive(p, torch::kFloat);
  ASSERT_GT(torch::matmul(p.hidden, p.weight.t()).abs().max().item<double>(), 5e3);
  Outcome fused = run_fused(p, tiled(4, 6));
  for (const auto& t : {fused.logp, fused.mean_logp, fused.entropy, fused.d_hidden, fused.d_weight}) {
    EXPECT_TRUE(torch::isfinite(t).all().item<bool>());
  }
  expect_close(fused, naive, 1e-5, "huge logits");
}

TEST(FusedLogprobs, TiedEmbeddingGradientAccumulates) {
  // The head reuses the embedding matrix: its gradient is the sum of the embedding lookup's and the
  // head's, exactly as autograd gives for the naive model.
  torch::manual_seed(6);
  const int64_t v = 31, d = 12, n = 20;
  torch::Tensor ids = torch::randint(0, v, {n}, torch::kLong);
  torch::Tensor labels = torch::randint(0, v, {n}, torch::kLong);
  torch::Tensor embed0 = torch::randn({v, d});
  torch::Tensor mix = torch::randn({d, d}) / std::sqrt(12.0);
  auto grad_of = [&](bool fused) {
    torch::Tensor embed = embed0.clone().requires_grad_(true);
    torch::Tensor hidden = torch::tanh(torch::matmul(embed.index_select(0, ids), mix));
    torch::Tensor logp = fused ? kernels::fused_linear_logprobs(hidden, embed, labels, tiled(3, 5)).logp
                               : test::naive_logprobs(hidden, embed, labels).logp;
    logp.sum().backward();
    return embed.grad();
  };
  EXPECT_LE(rel_error(grad_of(true), grad_of(false)), 1e-5);
}

TEST(FusedLogprobs, FrozenWeightGetsNoGradient) {
  Problem p = make_problem(9, 8, 13, 0.0, 7);
  torch::Tensor h = p.hidden.clone().requires_grad_(true);
  auto r = kernels::fused_linear_logprobs(h, p.weight, p.labels, tiled(2, 3));
  r.logp.sum().backward();
  torch::Tensor h2 = p.hidden.clone().requires_grad_(true);
  test::naive_logprobs(h2, p.weight, p.labels).logp.sum().backward();
  EXPECT_LE(rel_error(h.grad(), h2.grad()), 1e-5);
  EXPECT_FALSE(p.weight.grad().defined());
}

TEST(FusedLogprobs, NoGradModeForReferenceLogprobs) {
  Problem p = make_problem(9, 8, 13, 0.2, 8);
  torch::NoGradGuard no_grad;
  auto r = kernels::fused_linear_logprobs(p.hidden, p.weight, p.labels);
  EXPECT_FALSE(r.logp.requires_grad());
  EXPECT_LE(rel_error(r.logp, test::naive_logprobs(p.hidden, p.weight, p.labels).logp), 1e-5);
}

TEST(FusedLogprobs, Bf16ErrorAtMostTwiceNaiveBf16) {
  for (auto [t, v] : std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {16, 64}, {64, 100}}) {
    SCOPED_TRACE(fmt::format("tile {}x{}", t, v));
    Problem p = make_problem(64, 64, 211, 0.2, 9, 4.0, torch::kBFloat16);
    Outcome exact = run_naive(p, torch::kFloat);  // fp32 on the same bf16-rounded inputs
    Outcome naive = run_naive(p, torch::kBFloat16);
    Outcome fused = run_fused(p, tiled(t, v));
    auto check = [&](const torch::Tensor& f, const torch::Tensor& nv, const torch::Tensor& ex, const char* what) {
      double ef = test::max_abs_error(f, ex), en = test::max_abs_error(nv, ex);
      EXPECT_LE(ef, 2.0 * en + 1e-6) << what << ": fused " << ef << " naive " << en;
    };
    check(fused.logp, naive.logp, exact.logp, "logp");
    check(fused.mean_logp, naive.mean_logp, exact.mean_logp, "mean_logp");
    check(fused.entropy, naive.entropy, exact.entropy, "entropy");
    check(fused.d_hidden, naive.d_hidden, exact.d_hidden, "d_hidden");
    check(fused.d_weight, naive.d_weight, exact.d_weight, "d_weight");
    EXPECT_EQ(fused.d_hidden.scalar_type(), torch::kBFloat16);
    EXPECT_EQ(fused.d_weight.scalar_type(), torch::kBFloat16);
  }
}

TEST(FusedLogprobs, DeterministicRunsAreBitwiseIdentical) {
  Problem p = make_problem(33, 24, 97, 0.25, 10);
  LogprobOptions o = tiled(8, 16);
  o.deterministic = true;
  Outcome a = run_fused(p, o), b = run_fused(p, o);
  EXPECT_TRUE(a.logp.equal(b.logp));
  EXPECT_TRUE(a.d_hidden.equal(b.d_hidden));
  EXPECT_TRUE(a.d_weight.equal(b.d_weight));
}

TEST(FusedLogprobs, ArgmaxTiesPickLowestId) {
  // Two identical weight rows: both ids reach the max; the lower one is the prediction, as argmax.
  torch::Tensor w = torch::zeros({6, 2});
  w.index_put_({2}, torch::tensor({1.0f, 0.0f}));
  w.index_put_({4}, torch::tensor({1.0f, 0.0f}));
  torch::Tensor h = torch::tensor({{3.0f, 0.0f}, {3.0f, 0.0f}});
  torch::Tensor y = torch::tensor({2, 4}, torch::kLong);
  for (auto [t, v] : std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {1, 3}, {1, 1}}) {
    auto r = kernels::fused_linear_logprobs(h, w, y, tiled(t, v));
    EXPECT_TRUE(r.correct[0].item<bool>());
    EXPECT_FALSE(r.correct[1].item<bool>());
  }
}

TEST(FusedLogprobs, InvalidInputsAreUserErrors) {
  Problem p = make_problem(5, 4, 7, 0.0, 11);
  torch::Tensor bad = p.labels.clone();
  bad[3] = 7;
  try {
    kernels::fused_linear_logprobs(p.hidden, p.weight, bad);
    FAIL() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("position 3"), std::string::npos) << e.what();
    EXPECT_EQ(e.code(), ExitCode::Input);
  }
  EXPECT_THROW(kernels::fused_linear_logprobs(p.hidden, p.weight.narrow(1, 0, 3), p.labels), UserError);
  EXPECT_THROW(kernels::fused_linear_logprobs(p.hidden, p.weight.to(torch::kDouble), p.labels), UserError);
  EXPECT_THROW(kernels::fused_linear_logprobs(p.hidden, p.weight, p.labels.narrow(0, 0, 4)), UserError);
  LogprobOptions cuda;
  cuda.impl = kernels::LogprobImpl::Cuda;
  EXPECT_THROW(kernels::fused_linear_logprobs(p.hidden, p.weight, p.labels, cuda), UserError);
}

}  // namespace
}  // namespace ec
