// What the objectives of a stage share: the resolved config, the policy model, the tokenizer, the
// device and this rank's place among the data-parallel ranks, plus the small conversions from the
// config sections to the data pipeline's and kernels' options.
#pragma once

#include <memory>
#include <string>

#include "editcaption/data/collate.h"
#include "editcaption/data/dataset.h"
#include "editcaption/data/tokenizer.h"
#include "kernels/linear_logprobs.h"
#include "models/qwen_vl/model.h"
#include "trainers/experiment_config.h"

namespace ec::train {

struct StageContext {
  const ExperimentConfig* cfg = nullptr;
  nn::QwenVL policy{nullptr};
  std::shared_ptr<const data::Tokenizer> tokenizer;
  at::Device device = at::kCPU;
  int dp_rank = 0;
  int dp_size = 1;
  /// Identity of the weights the policy started from (the DPO reference).
  std::string init_identity;
};

data::DatasetOptions dataset_options(const ExperimentConfig& cfg, const models::QwenVLConfig& model);
data::CollateOptions collate_options(const ExperimentConfig& cfg, const data::Tokenizer& tokenizer,
                                     const models::QwenVLConfig& model);
/// The fused kernels' options from the `kernels:` section; `shard`: the policy's vocab-parallel
/// layout (QwenVLImpl::vocab_shard(), null at tp = 1), so that under tensor parallelism every rank
/// gets the full per-token log-probs and the hidden-state gradient (no tp_copy before the loss).
kernels::LogprobOptions logprob_options(const ExperimentConfig& cfg,
                                        std::shared_ptr<const kernels::VocabShard> shard = nullptr);

/// This rank's sampler over the training set (with bucketing lengths when configured).
data::Sampler make_sampler(const StageContext& ctx, const data::EditDataset& train);

/// Copies a batch's tensors to `device` (asynchronously from pinned memory).
data::ModelInputs to_device(const data::ModelInputs& in, at::Device device);
data::PairBatch to_device(const data::PairBatch& in, at::Device device);

/// bf16 autocast on the model's device type for a scope (nothing for Autocast::None).
class AutocastScope {
 public:
  AutocastScope(Autocast mode, at::Device device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  at::DeviceType type_ = at::kCPU;
  bool prev_enabled_ = false;
  at::ScalarType prev_dtype_ = at::kBFloat16;
};

/// The LM head weight (this rank's vocabulary rows under tensor parallelism) in the dtype of
/// `hidden` (autocast produces bf16 hidden states over fp32 weights; the fused kernel takes one
/// dtype). The cast is differentiable.
at::Tensor head_weight_for(nn::QwenVLImpl& model, const at::Tensor& hidden);

}  // namespace ec::train
