// The `optim:` config section (AdamW, parameter groups, clipping, LR schedule) and the factory
// that builds the optimizer the trainers hold.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "editcaption/config/visitor.h"
#include "trainers/optim/adamw.h"
#include "trainers/optim/schedule.h"

namespace ec::dist {
class GradSync;
}

namespace ec::optim {

struct OptimConfig {
  using is_config_section = void;
  double lr = 1e-5;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  std::vector<std::string> no_decay = {"bias", "norm", "embed"};
  bool no_decay_1d = true;
  std::map<std::string, double> lr_scale;
  double clip_grad_norm = 1.0;
  bool fused = true;
  ScheduleConfig schedule;

  template <class V>
  void visit(V& v) {
    v("lr", lr, "Peak learning rate (AdamW).", config::greater_than(0.0));
    v("beta1", beta1, "AdamW beta1.", config::range(0.0, 0.999999));
    v("beta2", beta2, "AdamW beta2.", config::range(0.0, 0.999999));
    v("eps", eps, "AdamW epsilon.", config::greater_than(0.0));
    v("weight_decay", weight_decay, "Decoupled weight decay of the parameters not exempted below.",
      config::at_least(0.0));
    v("no_decay", no_decay, "Parameters whose name contains one of these (case-insensitive) get no weight decay.");
    v("no_decay_1d", no_decay_1d, "Also exempt every parameter with fewer than two dimensions (norms, biases).");
    v("lr_scale", lr_scale,
      "Learning-rate multipliers by name substring, e.g. {visual.: 0.1}; the longest matching substring wins.");
    v("clip_grad_norm", clip_grad_norm, "Clip the global gradient norm to this value (0: measure only).",
      config::at_least(0.0));
    v("fused", fused, "Use the fused multi-tensor AdamW kernel on CUDA.");
    v("schedule", schedule, "Learning-rate schedule: warmup, then cosine, linear or constant.");
  }
  void validate(config::Validation& v) const;

  ParamGroupRules rules() const;
  AdamWOptions adamw() const;
};

/// AdamW over the named parameters; with a sharded GradSync (dist.zero1) its ZeRO-1 form.
std::unique_ptr<Optimizer> make_optimizer(const OptimConfig& cfg,
                                          const std::vector<std::pair<std::string, at::Tensor>>& named_params,
                                          dist::GradSync* sync = nullptr);

}  // namespace ec::optim
