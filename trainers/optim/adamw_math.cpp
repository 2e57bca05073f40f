#include "trainers/optim/adamw_math.h"

#include <ATen/ATen.h>

#include <cmath>

#include "editcaption/core/check.h"

namespace ec::optim {

void adamw_update(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& grads_in,
                  const std::vector<at::Tensor>& exp_avg, const std::vector<at::Tensor>& exp_avg_sq,
                  const std::vector<int64_t>& steps, const AdamWHyper& h, bool fused) {
  const size_t n = params.size();
  EC_CHECK(grads_in.size() == n && exp_avg.size() == n && exp_avg_sq.size() == n && steps.size() == n,
           "adamw_update: list sizes differ");
  if (n == 0) return;
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> grads;
  grads.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const at::Tensor& g = grads_in[i];
    grads.push_back(g.scalar_type() == params[i].scalar_type() ? g : g.to(params[i].scalar_type()));
  }
  if (fused) {
    at::Tensor t = at::tensor(std::vector<float>(steps.begin(), steps.end()), at::TensorOptions().dtype(at::kFloat))
                       .to(params[0].device());
    std::vector<at::Tensor> step_list;
    for (size_t i = 0; i < n; ++i) step_list.push_back(t.narrow(0, static_cast<int64_t>(i), 1));
    at::_fused_adamw_(params, grads, exp_avg, exp_avg_sq, {}, step_list, h.lr, h.beta1, h.beta2, h.weight_decay,
                      h.eps, /*amsgrad=*/false, /*maximize=*/false);
    return;
  }
  if (h.weight_decay != 0.0) at::_foreach_mul_(params, 1.0 - h.lr * h.weight_decay);
  at::_foreach_lerp_(exp_avg, grads, 1.0 - h.beta1);
  at::_foreach_mul_(exp_avg_sq, h.beta2);
  at::_foreach_addcmul_(exp_avg_sq, grads, grads, 1.0 - h.beta2);
  std::vector<at::Scalar> neg_step_size, bias2_sqrt;
  for (int64_t t : steps) {
    EC_CHECK(t >= 1, "adamw_update: step count {} (must include this update)", t);
    double bias1 = 1.0 - std::pow(h.beta1, static_cast<double>(t));
    double bias2 = 1.0 - std::pow(h.beta2, static_cast<double>(t));
    neg_step_size.emplace_back(-h.lr / bias1);
    bias2_sqrt.emplace_back(std::sqrt(bias2));
  }
  std::vector<at::Tensor> denom = at::_foreach_sqrt(exp_avg_sq);
  at::_foreach_div_(denom, bias2_sqrt);
  at::_foreach_add_(denom, h.eps);
  at::_foreach_addcdiv_(params, exp_avg, denom, neg_step_size);
}

}  // namespace ec::optim
