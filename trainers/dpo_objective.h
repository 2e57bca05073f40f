// DPO against a frozen reference (the starting policy): the pair-aware forward, the fused
// log-ratio loss with its variants (sigmoid, IPO, hinge, robust, label smoothing, RPO, length
// normalisation), HAE-style per-pair margins and weights, and TRL-named metrics broken down by
// error type and severity.
//
// The reference shares what it can with the policy: with LoRA it is the policy with the adapters
// off (no second copy); otherwise a frozen copy whose vision tower, when frozen in the policy, is
// the policy's own module, and the image features are then computed once per micro-batch for both.
// `reference: cached` computes every pair's reference log-probs before training (while the policy
// still holds the starting weights) and keeps only the policy.
#pragma once

#include <memory>
#include <optional>

#include "editcaption/ckpt/coordinator.h"
#include "editcaption/data/collate.h"
#include "editcaption/data/dataset.h"
#include "editcaption/data/loader.h"
#include "trainers/objective.h"
#include "trainers/reference_cache.h"
#include "trainers/stage_context.h"

namespace ec::train {

/// A pair and its content key (for the reference cache).
struct KeyedPair {
  data::PairSample pair;
  std::string key;
};
struct KeyedPairBatch {
  data::PairBatch batch;
  std::vector<std::string> keys;
  int64_t chosen_tokens = 0;  ///< labelled tokens of the chosen answers
  int64_t answer_tokens = 0;  ///< labelled tokens of all answers
};

class DpoObjective final : public Objective {
 public:
  /// `comm` exchanges reference-cache entries between data-parallel ranks. Builds the cache when
  /// reference is cached: call before loading any other weights into the policy.
  DpoObjective(const StageContext& ctx, ckpt::Coordinator& comm);

  std::unique_ptr<MicroBatch> next() override;
  void train_micro(MicroBatch& batch, const Units& global, MetricSums& metrics) override;
  MetricSums validate(int64_t max_batches) override;
  bool has_validation() const override { return val_ != nullptr; }

  int64_t steps_per_epoch() const override { return loader_->sampler().steps_per_epoch(); }
  data::SamplerCursor cursor() const override { return loader_->cursor(); }
  nlohmann::ordered_json loader_state() const override { return loader_->state(); }
  void load_loader_state(const nlohmann::json& state) override { loader_->load_state(state); }
  std::string bad_sample_summary() const override {
    return loader_->policy().total_failures() > 0 ? loader_->policy().summary() : std::string();
  }
  std::string reference_identity() const override { return ctx_.init_identity; }

  /// Reference (chosen, rejected) log-probs of a batch on the device: [P] fp64 each.
  std::pair<at::Tensor, at::Tensor> reference_logps(const KeyedPairBatch& host, const data::PairBatch& device_batch,
                                                    const nn::VisionOutput* vision);

 private:
  struct PairLosses;
  /// Policy forward + loss of one batch (gradients only if enabled by the caller).
  PairLosses pair_losses(const KeyedPairBatch& host, const Units& global);
  /// The reference forward of `m` (no gradients; LoRA adapters off): [P] fp64 chosen and rejected.
  std::pair<at::Tensor, at::Tensor> live_logps(nn::QwenVLImpl& m, const data::PairBatch& dev,
                                               const nn::VisionOutput* vision);
  KeyedPair load(const data::DpoDataset& ds, int64_t index) const;
  void build_cache(ckpt::Coordinator& comm);
  static void add_metrics(const PairLosses& l, const std::string& prefix, MetricSums& m);

  StageContext ctx_;
  const DpoConfig& dpo_;
  data::CollateOptions collate_;
  data::PairLayout layout_;
  kernels::LogprobOptions logprob_;
  bool share_vision_ = false;
  bool lora_reference_ = false;
  nn::QwenVL reference_{nullptr};  // live mode without LoRA: the frozen copy
  std::unique_ptr<ReferenceCache> cache_;
  std::shared_ptr<const data::DpoDataset> train_;
  std::shared_ptr<const data::DpoDataset> val_;
  std::unique_ptr<data::Loader<KeyedPair, KeyedPairBatch>> loader_;
};

}  // namespace ec::train
