// fused_cross_entropy against LibTorch's own cross_entropy (full logits; label smoothing as
// torch.nn.CrossEntropyLoss defines it).
#include <gtest/gtest.h>

#include <torch/nn.h>

#include "kernels/cross_entropy.h"
#include "tests/kernels/naive.h"

namespace ec {
namespace {

namespace F = torch::nn::functional;
using test::rel_error;

struct Grads {
  torch::Tensor loss, hidden, weight;
};

Grads fused(const torch::Tensor& h0, const torch::Tensor& w0, const torch::Tensor& y,
            const kernels::CrossEntropyOptions& o, int which) {
  torch::Tensor h = h0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
  auto r = kernels::fused_cross_entropy(h, w, y, o);
  torch::Tensor loss = which == 0 ? r.loss : which == 1 ? r.sum : r.mean;
  loss.backward();
  return {loss.detach(), h.grad(), w.grad()};
}

Grads naive(const torch::Tensor& h0, const torch::Tensor& w0, const torch::Tensor& y, double eps, double divide_by,
            bool mean) {
  torch::Tensor h = h0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
  auto o = F::CrossEntropyFuncOptions().ignore_index(-100).label_smoothing(eps);
  torch::Tensor logits = torch::matmul(h, w.t());
  torch::Tensor loss = mean ? F::cross_entropy(logits, y, o.reduction(torch::kMean))
                            : F::cross_entropy(logits, y, o.reduction(torch::kSum)) / divide_by;
  loss.backward();
  return {loss.detach(), h.grad(), w.grad()};
}

void expect_close(const Grads& a, const Grads& b) {
  EXPECT_LE(rel_error(a.loss, b.loss), 1e-5);
  EXPECT_LE(rel_error(a.hidden, b.hidden), 1e-5);
  EXPECT_LE(rel_error(a.weight, b.weight), 1e-5);
}

struct Data {
  torch::Tensor h, w, y;
};

Data data(uint64_t seed) {
  torch::manual_seed(seed);
  Data d{torch::randn({41, 24}), torch::randn({67, 24}) / 5.0, torch::randint(0, 67, {41}, torch::kLong)};
  d.y.masked_fill_(torch::rand({41}) < 0.3, -100);
  return d;
}

TEST(FusedCrossEntropy, SumMeanAndGlobalTokenNormaliser) {
  Data d = data(1);
  kernels::CrossEntropyOptions o;
  o.logprobs.tiling.token_chunk = 6;
  o.logprobs.tiling.vocab_block = 10;
  expect_close(fused(d.h, d.w, d.y, o, 1), naive(d.h, d.w, d.y, 0.0, 1.0, false));
  expect_close(fused(d.h, d.w, d.y, o, 2), naive(d.h, d.w, d.y, 0.0, 1.0, true));
  expect_close(fused(d.h, d.w, d.y, o, 0), naive(d.h, d.w, d.y, 0.0, 1.0, true));
  // Gradient accumulation / data parallelism: divide by the step's global token count.
  o.num_tokens = 1000.0;
  expect_close(fused(d.h, d.w, d.y, o, 0), naive(d.h, d.w, d.y, 0.0, 1000.0, false));
}

TEST(FusedCrossEntropy, LabelSmoothing) {
  Data d = data(2);
  kernels::CrossEntropyOptions o;
  o.label_smoothing = 0.1;
  o.logprobs.tiling.vocab_block = 9;
  expect_close(fused(d.h, d.w, d.y, o, 1), naive(d.h, d.w, d.y, 0.1, 1.0, false));
  expect_close(fused(d.h, d.w, d.y, o, 2), naive(d.h, d.w, d.y, 0.1, 1.0, true));
}

TEST(FusedCrossEntropy, NoValidTokenGivesZeroNotNan) {
  Data d = data(3);
  d.y.fill_(-100);
  auto r = kernels::fused_cross_entropy(d.h, d.w, d.y);
  EXPECT_EQ(r.num_valid, 0);
  EXPECT_EQ(r.mean.item<float>(), 0.0f);
  EXPECT_EQ(r.loss.item<float>(), 0.0f);
}

TEST(FusedCrossEntropy, TokenAccuracyFromArgmax) {
  Data d = data(4);
  auto r = kernels::fused_cross_entropy(d.h, d.w, d.y);
  torch::Tensor logits = torch::matmul(d.h, d.w.t());
  torch::Tensor valid = d.y.ne(-100);
  torch::Tensor expect = logits.argmax(-1).eq(d.y).logical_and(valid);
  EXPECT_TRUE(r.logprobs.correct.equal(expect));
}

}  // namespace
}  // namespace ec
