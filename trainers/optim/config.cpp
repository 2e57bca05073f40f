#include "trainers/optim/config.h"

#include "editcaption/dist/grad_sync.h"
#include "trainers/optim/zero.h"

namespace ec::optim {

void OptimConfig::validate(config::Validation& v) const {
  for (const auto& [pattern, scale] : lr_scale) {
    if (pattern.empty()) v.error("lr_scale", "has an empty name pattern");
    if (!(scale > 0)) v.error("lr_scale", "multiplier for '{}' must be > 0, got {}", pattern, scale);
  }
}

ParamGroupRules OptimConfig::rules() const { return {weight_decay, no_decay, no_decay_1d, lr_scale}; }

AdamWOptions OptimConfig::adamw() const { return {beta1, beta2, eps, fused}; }

std::unique_ptr<Optimizer> make_optimizer(const OptimConfig& cfg,
                                          const std::vector<std::pair<std::string, at::Tensor>>& named_params,
                                          dist::GradSync* sync) {
  auto groups = make_param_groups(named_params, cfg.rules());
  if (sync != nullptr && sync->sharded()) return std::make_unique<ZeroAdamW>(std::move(groups), *sync, cfg.adamw());
  return std::make_unique<AdamW>(std::move(groups), cfg.adamw());
}

}  // namespace ec::optim
