// SFT cross-entropy on top of fused_linear_logprobs: one call from final hidden states to the loss,
// never materialising the [N, V] logits.
//   token_loss[n] = -(1 - eps) log p(label_n) - eps * (1/V) sum_v log p(v)     (eps: label smoothing,
//                                                                               as torch's CrossEntropyLoss)
//   sum = sum over valid tokens, mean = sum / valid tokens of this call,
//   loss = sum / num_tokens when given (the global count of valid tokens over every micro-batch and
//          data-parallel rank of the optimizer step, so that summing gradients gives the global
//          mean), else mean.
#pragma once

#include <ATen/Tensor.h>

#include "kernels/linear_logprobs.h"

namespace ec::kernels {

struct CrossEntropyOptions {
  double label_smoothing = 0.0;
  /// Normaliser of `loss` (> 0); 0: this call's number of valid tokens.
  double num_tokens = 0.0;
  LogprobOptions logprobs;
};

struct CrossEntropyResult {
  at::Tensor loss;        ///< fp32 scalar, differentiable
  at::Tensor sum;         ///< fp32 scalar, differentiable
  at::Tensor mean;        ///< fp32 scalar, differentiable (0 when no token is valid)
  at::Tensor token_loss;  ///< fp32, shaped like labels, 0 at ignored positions, differentiable
  int64_t num_valid = 0;
  LogprobResult logprobs; ///< logp, entropy, correct (token accuracy), valid
};

CrossEntropyResult fused_cross_entropy(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& labels,
                                       const CrossEntropyOptions& options = {});

}  // namespace ec::kernels
