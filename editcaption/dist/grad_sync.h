// Data parallelism for any set of parameters (a torch::nn::Module's parameters()): the gradients
// live in flat buckets (each parameter's .grad is a view into one), and autograd hooks reduce a
// bucket over the data-parallel group as soon as the backward pass has filled it, so that
// communication overlaps the rest of the backward pass.
//
//   dist::GradSync sync(model->parameters(), world.dp_group(), {.bucket_bytes = 25 << 20});
//   for (micro-step k of K) {
//     sync.set_sync(k == K - 1);              // no communication before the last micro-step
//     if (k == K - 1) sync.set_grad_scale(1.0 / global_tokens);
//     loss_sum_over_my_tokens.backward();     // token-summed loss
//   }
//   sync.finish();                            // every .grad = sum over ranks * scale
//   optimizer.step(...); sync.zero_grad();
//
// The reduction is a SUM; the caller's scale (1 / global token count) turns it into the mean
// over all tokens of the global batch. With `shard` (ZeRO-1) each bucket is reduce-scattered
// instead: after finish() only this rank's shard (grad_shard) holds reduced values, the
// parameters are views into flat parameter buckets, and all_gather_params() redistributes them
// after the sharded optimizer step.
#pragma once

#include <ATen/Tensor.h>

#include <memory>
#include <mutex>
#include <vector>

#include "editcaption/dist/buckets.h"
#include "editcaption/dist/group.h"

namespace torch::autograd {
struct Node;
}

namespace ec::dist {

struct GradSyncOptions {
  int64_t bucket_bytes = 25LL << 20;
  /// Element type of the reduction: kFloat, or kBFloat16 for half the bytes.
  at::ScalarType reduce_dtype = at::kFloat;
  /// ZeRO-1: reduce-scatter the buckets and keep parameters in flat shardable buffers.
  bool shard = false;
  /// Broadcast the parameters from data-parallel rank 0 at construction (identical starts).
  bool broadcast_params = true;
};

class GradSync {
 public:
  /// Parameters that do not require grad are ignored. Parameters must be leaves.
  GradSync(const std::vector<at::Tensor>& params, std::shared_ptr<Group> dp, GradSyncOptions options = {});
  ~GradSync();
  GradSync(const GradSync&) = delete;
  GradSync& operator=(const GradSync&) = delete;

  /// Off for every micro-step but the last one of a gradient-accumulation step.
  void set_sync(bool enabled);
  bool sync_enabled() const { return sync_; }
  /// Factor applied to the gradients in the reduction (typically 1 / global token count).
  void set_grad_scale(double scale);
  /// After the last micro-step's backward: reduces the buckets that have not gone yet (their
  /// parameters got no gradient) and waits for all of them.
  void finish();
  /// Zeroes the gradient buckets (every .grad stays a view into them; never set to undefined).
  void zero_grad();

  const std::vector<at::Tensor>& params() const { return params_; }
  const BucketLayout& layout() const { return layout_; }
  Group& group() const { return *dp_; }
  bool sharded() const { return options_.shard; }
  const GradSyncOptions& options() const { return options_; }

  /// The full flat gradient of bucket b.
  const at::Tensor& grad_bucket(int b) const { return grads_[b]; }
  /// Shard mode: this rank's reduced shard of bucket b (bucket dtype) after finish().
  const at::Tensor& grad_shard(int b) const { return grad_shards_[b]; }
  /// Shard mode: the flat parameter buffer of bucket b (the parameters are views into it).
  const at::Tensor& param_bucket(int b) const { return param_flat_[b]; }
  /// Shard mode: this rank's part of param_bucket(b).
  at::Tensor param_shard(int b) const;
  /// Shard mode: every rank sends its updated parameter shards to all (all-gather per bucket).
  void all_gather_params();

  struct Stats {
    int buckets = 0;
    int launched_during_backward = 0;  ///< of the last synchronized step: overlap achieved
    int64_t reduce_bytes = 0;          ///< bytes each rank contributes per step
  };
  Stats stats() const;

 private:
  void on_ready(int param);
  void launch(int bucket);
  void launch_in_order();
  void reset_step();

  std::vector<at::Tensor> params_;
  std::shared_ptr<Group> dp_;
  GradSyncOptions options_;
  BucketLayout layout_;
  std::vector<at::Tensor> grads_;         // flat, bucket dtype
  std::vector<at::Tensor> comm_;          // flat, reduce dtype (only when it differs)
  std::vector<at::Tensor> shard_out_;     // shard mode: reduce-scatter output (reduce dtype)
  std::vector<at::Tensor> grad_shards_;   // shard mode: reduced shard (bucket dtype)
  std::vector<at::Tensor> param_flat_;    // shard mode
  std::vector<std::pair<std::shared_ptr<torch::autograd::Node>, uintptr_t>> hooks_;

  std::mutex mutex_;
  bool sync_ = true;
  double scale_ = 1.0;
  std::vector<char> ready_;
  std::vector<int> missing_;  // per bucket: parameters not ready yet
  int next_launch_ = 0;
  int launched_in_backward_ = 0;
  int last_launched_in_backward_ = 0;
  bool in_finish_ = false;
  std::vector<Pending> pending_;
};

}  // namespace ec::dist
