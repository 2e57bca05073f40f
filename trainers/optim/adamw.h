// AdamW over parameter groups (param_groups.h), with per-parameter step counts and state that
// checkpoints save as named tensors and load back exactly.
//
// State per parameter: exp_avg and exp_avg_sq in fp32 (fp64 for fp64 parameters), the step count,
// and for bf16/fp16 parameters an fp32 master copy that the update runs on (the parameter gets
// the rounded result). On CUDA the update uses the multi-tensor fused kernel.
#pragma once

#include <vector>

#include "trainers/optim/adamw_math.h"
#include "trainers/optim/param_groups.h"
#include "trainers/optim/state.h"

namespace ec::optim {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  /// Use at::_fused_adamw_ for CUDA tensors (else _foreach ops, as on CPU).
  bool fused = true;
};

/// The type the optimizer state and the update use for parameters of type `t`.
at::ScalarType state_dtype(at::ScalarType t);

class AdamW : public Optimizer {
 public:
  AdamW(std::vector<ParamGroup> groups, AdamWOptions options = {});

  void step(double lr) override;
  std::vector<at::Tensor> update_grads(const ParamFilter& counted = nullptr) const override;
  OptimizerState state_dict() override;
  void load_state_dict(const OptimizerState& state) override;
  OptimizerMemory memory() const override;

  const std::vector<ParamGroup>& groups() const { return groups_; }
  const AdamWOptions& options() const { return options_; }

 private:
  struct ParamState {
    at::Tensor exp_avg, exp_avg_sq, master;  // master undefined for fp32/fp64 parameters
    int64_t step = 0;
  };
  std::vector<ParamGroup> groups_;
  AdamWOptions options_;
  std::vector<std::vector<ParamState>> state_;  // [group][param]
};

/// The options part of a state's meta (shared by AdamW and ZeroAdamW).
nlohmann::ordered_json adamw_meta(const std::vector<ParamGroup>& groups, const AdamWOptions& options);
/// Checks that a saved state's groups hold the same parameter names (UserError(Checkpoint)).
void check_state_params(const OptimizerState& state, const std::vector<ParamGroup>& groups);
/// Finds a tensor of a saved state or throws UserError(Checkpoint) naming it.
const at::Tensor& state_tensor(const OptimizerState& state, const std::string& name, at::IntArrayRef shape);

}  // namespace ec::optim
