// SFT: masked cross-entropy on the answer tokens (and the end-of-turn token), through the fused
// LM-head log-prob kernel so that only labelled positions are ever projected to the vocabulary.
#pragma once

#include <memory>

#include "editcaption/data/collate.h"
#include "editcaption/data/dataset.h"
#include "editcaption/data/loader.h"
#include "trainers/objective.h"
#include "trainers/stage_context.h"

namespace ec::train {

class SftObjective final : public Objective {
 public:
  explicit SftObjective(const StageContext& ctx);

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

 private:
  /// Sum of -log p over the labelled tokens, the token count, and the correct-argmax count.
  struct Losses {
    at::Tensor nll_sum;
    int64_t tokens = 0;
    double correct = 0;
  };
  Losses losses(const data::ModelInputs& inputs);

  StageContext ctx_;
  data::CollateOptions collate_;
  kernels::LogprobOptions logprob_;
  std::shared_ptr<const data::SftDataset> train_;
  std::shared_ptr<const data::SftDataset> val_;
  std::unique_ptr<data::Loader<data::Sample, data::SftBatch>> loader_;
};

}  // namespace ec::train
