#include "trainers/sft_objective.h"

#include <torch/torch.h>

#include "editcaption/core/check.h"
#include "editcaption/core/log.h"

namespace ec::train {
namespace {

class SftMicro final : public MicroBatch {
 public:
  explicit SftMicro(data::SftBatch b) : batch(std::move(b)) {
    labelled = batch.inputs.labels.ne(kIgnoreIndex).sum().item<int64_t>();
  }
  Units units() const override { return {static_cast<double>(labelled), 0, 0}; }
  int64_t samples() const override { return static_cast<int64_t>(batch.ids.size()); }
  int64_t tokens() const override { return batch.inputs.num_tokens(); }
  std::vector<int64_t> head_tokens(int64_t n) const override {
    at::Tensor row = batch.inputs.input_ids.flatten().slice(0, 0, n).to(at::kLong).contiguous();
    return {row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel()};
  }
  data::SftBatch batch;
  int64_t labelled = 0;
};

}  // namespace

SftObjective::SftObjective(const StageContext& ctx)
    : ctx_(ctx), logprob_(logprob_options(*ctx.cfg, ctx.policy->vocab_shard())) {
  const ExperimentConfig& cfg = *ctx.cfg;
  const models::QwenVLConfig& model = ctx.policy->config();
  collate_ = collate_options(cfg, *ctx.tokenizer, model);
  EC_USER_CHECK(!cfg.data.train.empty(), Usage, "data.train: the SFT stage needs a training manifest");
  const data::DatasetOptions dopt = dataset_options(cfg, model);
  train_ = std::make_shared<data::SftDataset>(cfg.data.train, ctx.tokenizer, dopt);
  if (!cfg.data.val.empty()) val_ = std::make_shared<data::SftDataset>(cfg.data.val, ctx.tokenizer, dopt);

  data::Sampler sampler = make_sampler(ctx, *train_);
  data::BadSamplePolicy policy(cfg.data.bad_samples, cfg.run.seed, train_->size());
  auto dataset = train_;
  auto collate = collate_;
  loader_ = std::make_unique<data::Loader<data::Sample, data::SftBatch>>(
      std::move(sampler), std::move(policy), [dataset](int64_t i) { return dataset->get(i); },
      [collate](std::vector<data::Sample>& items) { return data::collate_sft(items, collate); }, cfg.data.loader,
      [](data::SftBatch& b) { data::pin_memory(b); });
}

std::unique_ptr<MicroBatch> SftObjective::next() { return std::make_unique<SftMicro>(loader_->next().batch); }

SftObjective::Losses SftObjective::losses(const data::ModelInputs& host_inputs) {
  data::ModelInputs in = to_device(host_inputs, ctx_.device);
  AutocastScope autocast(ctx_.cfg->train.autocast, ctx_.device);
  nn::ForwardOptions fo;
  fo.return_logits = false;
  fo.return_hidden = true;
  at::Tensor hidden = ctx_.policy->forward(in, fo).hidden;
  kernels::LogprobResult r =
      kernels::fused_linear_logprobs(hidden, head_weight_for(*ctx_.policy, hidden), in.labels, logprob_);
  Losses out;
  out.nll_sum = -r.logp.sum();
  out.tokens = r.num_valid;
  out.correct = r.correct.sum().item<double>();
  return out;
}

void SftObjective::train_micro(MicroBatch& batch, const Units& global, MetricSums& metrics) {
  auto& b = static_cast<SftMicro&>(batch);
  Losses l = losses(b.batch.inputs);
  at::Tensor loss = l.nll_sum / global.tokens;
  loss.backward();
  // The step loss is the sum of every micro-batch's share over all ranks (count 0: a plain sum).
  metrics.add("loss", loss.item<double>(), 0);
  metrics.add("accuracy", l.correct, static_cast<double>(l.tokens));
}

MetricSums SftObjective::validate(int64_t max_batches) {
  MetricSums m;
  m.add("val/loss", 0, 0);
  m.add("val/accuracy", 0, 0);
  if (!val_) return m;
  torch::NoGradGuard no_grad;
  const int64_t b = ctx_.cfg->train.micro_batch_size;
  const int64_t batches = (val_->size() + b - 1) / b;
  const int64_t limit = max_batches > 0 ? std::min(batches, max_batches) : batches;
  int64_t bad = 0;
  for (int64_t j = ctx_.dp_rank; j < limit; j += ctx_.dp_size) {
    std::vector<data::Sample> items;
    for (int64_t i = j * b; i < std::min(val_->size(), (j + 1) * b); ++i) {
      try {
        items.push_back(val_->get(i));
      } catch (const UserError& e) {
        ++bad;  // validation scores what it can; the record is reported once per evaluation
        log::warn("validation: {}", e.what());
      }
    }
    if (items.empty()) continue;
    Losses l = losses(data::collate_sft(items, collate_).inputs);
    m.add("val/loss", l.nll_sum.item<double>(), static_cast<double>(l.tokens));
    m.add("val/accuracy", l.correct, static_cast<double>(l.tokens));
  }
  if (bad > 0) log::warn("validation: {} bad records skipped", bad);
  return m;
}

}  // namespace ec::train
