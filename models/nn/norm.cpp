#include "models/nn/norm.h"

namespace ec::nn {

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  at::Tensor h = x.to(at::kFloat);
  h = h * at::rsqrt(h.pow(2).mean(-1, /*keepdim=*/true) + eps);
  h = h.to(x.scalar_type());
  return weight.defined() ? weight * h : h;
}

NormImpl::NormImpl(NormOptions o) : options(o) { reset(); }

void NormImpl::reset() {
  weight = register_parameter("weight", torch::ones({options.dim}));
  if (options.kind == NormKind::LayerNorm) bias = register_parameter("bias", torch::zeros({options.dim}));
}

at::Tensor NormImpl::forward(const at::Tensor& x) {
  if (options.kind == NormKind::RMSNorm) return rms_norm(x, weight, options.eps);
  return at::layer_norm(x, {options.dim}, weight, bias, options.eps);
}

}  // namespace ec::nn
