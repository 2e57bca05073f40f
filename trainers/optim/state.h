// What an optimizer hands to checkpoints: named tensors plus JSON options, loadable back exactly.
#pragma once

#include <ATen/Tensor.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace ec::dist {
class Group;
}

namespace ec::optim {

struct OptimizerState {
  /// "<param>.exp_avg", "<param>.exp_avg_sq", "<param>.step" (int64 scalar), "<param>.master"
  /// (fp32 copy of a bf16/fp16 parameter). Tensors may alias the optimizer's live state.
  std::map<std::string, at::Tensor> tensors;
  /// {"optimizer": "adamw", "betas": [..], "eps": .., "groups": [{name, weight_decay, lr_scale,
  /// params: [...]}], ...}
  nlohmann::ordered_json meta;
};

struct OptimizerMemory {
  int64_t state_bytes = 0;       ///< optimizer state held by this rank
  int64_t full_state_bytes = 0;  ///< what an unsharded optimizer would hold
  int64_t saved_bytes() const { return full_state_bytes - state_bytes; }
};

/// The interface trainers hold: plain AdamW or its ZeRO-1 sharded form.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  /// One update; each group uses lr * its lr_scale.
  virtual void step(double lr) = 0;
  /// The gradients the update reads: the parameters' .grad, or with ZeRO-1 this rank's slices of
  /// the reduced shards. Clip these (clip.h), summing the norm over grad_norm_groups(). With
  /// `counted`, only the parameters it accepts (by name): for the norm under tensor parallelism
  /// count replicated parameters on tp rank 0 only.
  using ParamFilter = std::function<bool(const std::string& name)>;
  virtual std::vector<at::Tensor> update_grads(const ParamFilter& counted = nullptr) const = 0;
  /// Groups a gradient norm over update_grads() must be summed over (ZeRO-1: the dp group).
  virtual std::vector<dist::Group*> grad_norm_groups() const { return {}; }
  /// The full (unsharded) state; collective with ZeRO-1 (every dp rank must call it).
  virtual OptimizerState state_dict() = 0;
  /// Loads a full state (from any data-parallel size). Throws UserError(Checkpoint) naming the
  /// tensor or parameter that does not match.
  virtual void load_state_dict(const OptimizerState& state) = 0;
  virtual OptimizerMemory memory() const = 0;
};

}  // namespace ec::optim
