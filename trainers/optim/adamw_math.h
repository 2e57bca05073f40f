// The AdamW update on lists of tensors (PyTorch's torch.optim.AdamW, decoupled weight decay):
//   p *= 1 - lr * wd;  m = lerp(m, g, 1 - b1);  v = b2 v + (1 - b2) g^2
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

namespace ec::optim {

struct AdamWHyper {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

/// Updates params, exp_avg, exp_avg_sq in place. All lists have the same length; tensor i of
/// each list has the same shape, and every tensor lives on one device with one dtype (grads are
/// cast to it when they differ). steps[i] is parameter i's step count including this update.
/// `fused` uses the multi-tensor CUDA kernel (at::_fused_adamw_); otherwise _foreach ops.
void adamw_update(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& grads,
                  const std::vector<at::Tensor>& exp_avg, const std::vector<at::Tensor>& exp_avg_sq,
                  const std::vector<int64_t>& steps, const AdamWHyper& h, bool fused);

}  // namespace ec::optim
