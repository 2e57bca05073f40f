#include "kernels/cross_entropy.h"

#include <ATen/ATen.h>

#include "editcaption/core/check.h"

namespace ec::kernels {

CrossEntropyResult fused_cross_entropy(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& labels,
                                       const CrossEntropyOptions& options) {
  EC_USER_CHECK(options.label_smoothing >= 0.0 && options.label_smoothing <= 1.0, Usage,
                "fused_cross_entropy: label_smoothing must be in [0, 1], got {}", options.label_smoothing);
  EC_USER_CHECK(options.num_tokens >= 0.0, Usage, "fused_cross_entropy: num_tokens must be >= 0, got {}",
                options.num_tokens);
  CrossEntropyResult r;
  r.logprobs = fused_linear_logprobs(hidden, weight, labels, options.logprobs);
  r.num_valid = r.logprobs.num_valid;
  const double eps = options.label_smoothing;
  // Leaving mean_logp out of the graph when eps == 0 lets the backward pass skip its term.
  r.token_loss = eps == 0.0 ? -r.logprobs.logp : -(1.0 - eps) * r.logprobs.logp - eps * r.logprobs.mean_logp;
  r.sum = r.token_loss.sum();
  r.mean = r.sum / static_cast<double>(std::max<int64_t>(r.num_valid, 1));
  r.loss = options.num_tokens > 0.0 ? r.sum / options.num_tokens : r.mean;
  return r;
}

}  // namespace ec::kernels
