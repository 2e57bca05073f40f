#include "trainers/optim/clip.h"

#include <ATen/ATen.h>

#include <cmath>
#include <map>

namespace ec::optim {

double global_grad_norm(const std::vector<at::Tensor>& grads, const std::vector<dist::Group*>& sum_over) {
  at::NoGradGuard no_grad;
  // Squared norms per device, one multi-tensor norm call each, summed in double on the host.
  std::map<std::string, std::vector<at::Tensor>> by_device;
  for (const auto& g : grads) {
    if (g.defined() && g.numel() > 0) by_device[g.device().str() + c10::toString(g.scalar_type())].push_back(g);
  }
  double sq = 0.0;
  for (auto& [key, list] : by_device) {
    auto dtype = list[0].scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
    std::vector<at::Tensor> norms = at::_foreach_norm(list, 2, dtype);
    sq += at::stack(norms).to(at::kDouble).pow(2).sum().item<double>();
  }
  for (dist::Group* g : sum_over) {
    if (g == nullptr || g->size() == 1) continue;
    at::Tensor t = at::full({1}, sq, at::TensorOptions().dtype(at::kDouble)).to(g->device());
    g->all_reduce(t);
    sq = t.item<double>();
  }
  return std::sqrt(sq);
}

void scale_grads_for_clip(const std::vector<at::Tensor>& grads, double max_norm, double total_norm) {
  if (max_norm <= 0 || !std::isfinite(total_norm)) return;
  double coef = max_norm / (total_norm + 1e-6);
  if (coef >= 1.0) return;
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> list;
  for (const auto& g : grads) {
    if (g.defined()) list.push_back(g);
  }
  at::_foreach_mul_(list, coef);
}

double clip_grad_norm(const std::vector<at::Tensor>& grads, double max_norm,
                      const std::vector<dist::Group*>& sum_over) {
  double norm = global_grad_norm(grads, sum_over);
  scale_grads_for_clip(grads, max_norm, norm);
  return norm;
}

}  // namespace ec::optim
