#include "models/nn/linear.h"

#include <torch/nn/init.h>

#include <cmath>

#include "editcaption/core/check.h"

namespace ec::nn {

LinearImpl::LinearImpl(LinearOptions o) : options(std::move(o)) { reset(); }

void LinearImpl::reset() {
  weight = register_parameter("weight", torch::empty({options.out_features, options.in_features}));
  bias = options.bias ? register_parameter("bias", torch::zeros({options.out_features})) : at::Tensor();
  // torch.nn.Linear's default init, so a module built without a checkpoint is usable as is.
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    double bound = 1.0 / std::sqrt(static_cast<double>(options.in_features));
    torch::nn::init::uniform_(bias, -bound, bound);
  }
  if (options.lora.rank > 0) {
    lora_a = register_parameter("lora_a", torch::empty({options.lora.rank, options.in_features}));
    lora_b = register_parameter("lora_b", torch::zeros({options.out_features, options.lora.rank}));
    torch::nn::init::kaiming_uniform_(lora_a, std::sqrt(5.0));
  }
}

void LinearImpl::add_lora(const LoraOptions& lora) {
  EC_CHECK(lora.rank > 0, "LoRA rank must be positive");
  EC_CHECK(!has_lora(), "this layer already has a LoRA adapter");
  options.lora = lora;
  torch::NoGradGuard no_grad;
  auto opts = weight.options();
  lora_a = register_parameter("lora_a", torch::empty({lora.rank, options.in_features}, opts));
  lora_b = register_parameter("lora_b", torch::zeros({options.out_features, lora.rank}, opts));
  torch::nn::init::kaiming_uniform_(lora_a, std::sqrt(5.0));
}

at::Tensor LinearImpl::forward(const at::Tensor& x) {
  at::Tensor y = at::linear(x, weight, bias);
  if (has_lora() && lora_enabled_ && !merged_) {
    at::Tensor h = x;
    if (options.lora.dropout > 0 && is_training()) h = at::dropout(h, options.lora.dropout, /*train=*/true);
    y = y + at::linear(at::linear(h, lora_a), lora_b) * options.lora.scale();
  }
  return y;
}

void LinearImpl::set_lora_enabled(bool enabled) {
  // A merged adapter lives in the weight and cannot be switched off; unmerge first.
  EC_CHECK(!merged_ || enabled, "cannot disable a merged LoRA adapter (unmerge it first)");
  lora_enabled_ = enabled;
}

at::Tensor LinearImpl::lora_delta() const {
  EC_CHECK(has_lora(), "no LoRA adapter");
  return at::matmul(lora_b, lora_a) * options.lora.scale();
}

void LinearImpl::merge_lora() {
  if (!has_lora() || merged_) return;
  torch::NoGradGuard no_grad;
  weight.add_(lora_delta().to(weight.scalar_type()));
  merged_ = true;
}

void LinearImpl::unmerge_lora() {
  if (!has_lora() || !merged_) return;
  torch::NoGradGuard no_grad;
  weight.sub_(lora_delta().to(weight.scalar_type()));
  merged_ = false;
}

}  // namespace ec::nn
