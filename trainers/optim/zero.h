// ZeRO-1: AdamW whose state is sharded over the data-parallel ranks. A sharded GradSync
// reduce-scatters each gradient bucket, every rank updates only its shard of each bucket (with
// its shard of exp_avg / exp_avg_sq / fp32 master weights), and the updated parameter shards are
// all-gathered back into every rank's parameters.
//
// Checkpoints: state_dict() gathers the same full per-parameter state plain AdamW produces (so a
// run can resume with another dp size, or without ZeRO); shard_state_dict() is this rank's part
// alone, and merge_shard_states / split_full_state convert between the two offline.
#pragma once

#include <vector>

#include "editcaption/dist/buckets.h"
#include "editcaption/dist/grad_sync.h"
#include "trainers/optim/adamw.h"

namespace ec::optim {

class ZeroAdamW : public Optimizer {
 public:
  /// `sync` must be sharded and hold every parameter of `groups` (it must outlive the optimizer).
  ZeroAdamW(std::vector<ParamGroup> groups, dist::GradSync& sync, AdamWOptions options = {});

  /// Sharded update, then all-gather of the parameters.
  void step(double lr) override;
  std::vector<at::Tensor> update_grads(const ParamFilter& counted = nullptr) const override;
  std::vector<dist::Group*> grad_norm_groups() const override;
  /// Collective over the dp group: every rank gets the full state.
  OptimizerState state_dict() override;
  void load_state_dict(const OptimizerState& state) override;
  OptimizerMemory memory() const override;

  /// This rank's shard (no communication); meta records the layout (see split_full_state).
  OptimizerState shard_state_dict() const;
  /// Loads a shard written by shard_state_dict() for the same dp size and rank.
  void load_shard_state_dict(const OptimizerState& shard);

 private:
  struct Slice {
    at::Tensor param, grad, exp_avg, exp_avg_sq;
  };
  Slice slice(const dist::ShardPiece& piece) const;

  std::vector<ParamGroup> groups_;
  dist::GradSync& sync_;
  AdamWOptions options_;
  std::vector<std::string> names_;   // by GradSync parameter index
  std::vector<int> group_of_;        // by GradSync parameter index
  std::vector<int64_t> steps_;       // by GradSync parameter index
  std::vector<dist::ShardPiece> pieces_;
  std::vector<at::Tensor> exp_avg_, exp_avg_sq_, master_;  // by bucket: this rank's shard
};

/// What it takes to recompute the bucket layout offline.
struct ShardLayoutSpec {
  std::vector<std::string> names;         ///< GradSync parameter order
  std::vector<dist::ParamInfo> params;    ///< numel, dtype (device is irrelevant here)
  std::vector<std::vector<int64_t>> shapes;
  int64_t bucket_bytes = 0;
};
ShardLayoutSpec layout_spec_from_meta(const nlohmann::ordered_json& shard_meta);

/// The full state from the shard_state_dict() of every rank of one run (any order).
OptimizerState merge_shard_states(const std::vector<OptimizerState>& shards);
/// Rank `part`'s shard of a full state for a run with data-parallel size `parts`.
OptimizerState split_full_state(const OptimizerState& full, const ShardLayoutSpec& spec, int parts, int part);

}  // namespace ec::optim
