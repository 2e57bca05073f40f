// The naive LibTorch computations the fused kernels are checked against: the full [N, V] logits,
// log_softmax and gather, differentiated by LibTorch's autograd. Nothing here calls editcaption.
#pragma once

#include <torch/nn.h>

#include <algorithm>
#include <cmath>

namespace ec::test {

struct NaiveLogprobs {
  torch::Tensor logp, mean_logp, entropy, correct;
};

/// In the inputs' dtype up to the logits (a bf16 matmul gives bf16 logits), then fp32.
inline NaiveLogprobs naive_logprobs(const torch::Tensor& hidden, const torch::Tensor& weight,
                                    const torch::Tensor& labels, int64_t ignore_index = -100) {
  torch::Tensor logits = torch::matmul(hidden, weight.t()).to(torch::kFloat);
  torch::Tensor lsm = torch::log_softmax(logits, -1);
  torch::Tensor valid = labels.ne(ignore_index);
  torch::Tensor safe = labels.masked_fill(valid.logical_not(), 0);
  NaiveLogprobs r;
  r.logp = lsm.gather(-1, safe.unsqueeze(-1)).squeeze(-1) * valid;
  r.mean_logp = lsm.mean(-1) * valid;
  r.entropy = (-(lsm.exp() * lsm).sum(-1) * valid).detach();
  r.correct = logits.argmax(-1).eq(labels).logical_and(valid);
  return r;
}

/// max |a - b| / max |b|: the normwise relative error (robust to near-zero entries).
inline double rel_error(const torch::Tensor& a, const torch::Tensor& b) {
  torch::Tensor x = a.detach().to(torch::kDouble), y = b.detach().to(torch::kDouble);
  double scale = y.abs().max().item<double>();
  return (x - y).abs().max().item<double>() / std::max(scale, 1e-30);
}

inline double max_abs_error(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.detach().to(torch::kDouble) - b.detach().to(torch::kDouble)).abs().max().item<double>();
}

}  // namespace ec::test
