#include "trainers/dpo_objective.h"

#include <torch/torch.h>

#include <optional>

#include "editcaption/core/check.h"
#include "editcaption/core/log.h"
#include "models/qwen_vl/lora.h"
#include "trainers/pair_forward.h"

namespace ec::train {
namespace {


class DpoMicro final : public MicroBatch {
 public:
  explicit DpoMicro(KeyedPairBatch b) : batch(std::move(b)) {}
  Units units() const override {
    return {static_cast<double>(batch.answer_tokens), static_cast<double>(batch.batch.num_pairs()),
            static_cast<double>(batch.chosen_tokens)};
  }
  int64_t samples() const override { return batch.batch.num_pairs(); }
  int64_t tokens() const override {
    return batch.batch.inputs.num_tokens() + (batch.batch.answers.input_ids.defined() ? batch.batch.answers.num_tokens() : 0);
  }
  std::vector<int64_t> head_tokens(int64_t n) const override {
    at::Tensor row = batch.batch.inputs.input_ids.flatten().slice(0, 0, n).to(at::kLong).contiguous();
    return {row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel()};
  }
  KeyedPairBatch batch;
};

// Every answer token is labelled exactly once (the position before it predicts it), so the token
// counts come from the answers' lengths.
KeyedPairBatch collate_keyed(std::vector<KeyedPair>& items, const data::CollateOptions& o, data::PairLayout layout) {
  std::vector<data::PairSample> pairs;
  KeyedPairBatch out;
  pairs.reserve(items.size());
  for (KeyedPair& k : items) {
    out.chosen_tokens += static_cast<int64_t>(k.pair.chosen_ids.size());
    out.answer_tokens += static_cast<int64_t>(k.pair.chosen_ids.size() + k.pair.rejected_ids.size());
    out.keys.push_back(k.key);
    pairs.push_back(std::move(k.pair));
  }
  out.batch = data::collate_pairs(pairs, o, layout);
  return out;
}

}  // namespace

struct DpoObjective::PairLosses {
  kernels::DpoResult d;
  at::Tensor loss;  ///< the step-normalised loss (DPO + RPO)
  at::Tensor weights;
  at::Tensor error_type, severity;  ///< host int64 [P]
  int64_t pairs = 0;
};

DpoObjective::DpoObjective(const StageContext& ctx, ckpt::Coordinator& comm)
    : ctx_(ctx), dpo_(ctx.cfg->dpo), logprob_(logprob_options(*ctx.cfg, ctx.policy->vocab_shard())) {
  const ExperimentConfig& cfg = *ctx.cfg;
  const models::QwenVLConfig& model = ctx.policy->config();
  collate_ = collate_options(cfg, *ctx.tokenizer, model);
  layout_ = cfg.data.collate.pair_layout;
  // The continuation forward attends to padded prompts.
  if (layout_ == data::PairLayout::SharedPrefix) collate_.packed = false;
  EC_USER_CHECK(!cfg.data.train.empty(), Usage, "data.train: the DPO stage needs a preference manifest");
  const data::DatasetOptions dopt = dataset_options(cfg, model);
  train_ = std::make_shared<data::DpoDataset>(cfg.data.train, ctx.tokenizer, dopt);
  if (!cfg.data.val.empty()) val_ = std::make_shared<data::DpoDataset>(cfg.data.val, ctx.tokenizer, dopt);

  lora_reference_ = models::has_lora(*ctx.policy);
  share_vision_ = cfg.model.freeze.vision_tower && cfg.model.freeze.merger && !(lora_reference_ && cfg.model.lora.vision);
  if (dpo_.reference == ReferenceMode::Live && !lora_reference_) {
    reference_ = nn::QwenVL(std::dynamic_pointer_cast<nn::QwenVLImpl>(ctx.policy->clone()));
    if (share_vision_) {
      reference_->visual = ctx.policy->visual;
      reference_->replace_module("visual", ctx.policy->visual);
    }
    for (at::Tensor& p : reference_->parameters()) p.requires_grad_(false);
    reference_->eval();
  }
  if (dpo_.reference == ReferenceMode::Cached) {
    std::filesystem::path dir = dpo_.cache_dir.empty() ? cfg.run.output_dir / "reference_cache" : dpo_.cache_dir;
    const std::string settings =
        fmt::format("length_normalize={} dtype={} autocast={} impl={}", dpo_.length_normalize,
                    config::enum_name(cfg.model.dtype), config::enum_name(cfg.train.autocast),
                    config::enum_name(cfg.kernels.loss_impl));
    cache_ = std::make_unique<ReferenceCache>(dir, ctx.init_identity, settings);
    build_cache(comm);
  }

  data::Sampler sampler = make_sampler(ctx, *train_);
  data::BadSamplePolicy policy(cfg.data.bad_samples, cfg.run.seed, train_->size());
  auto dataset = train_;
  auto collate = collate_;
  auto layout = layout_;
  loader_ = std::make_unique<data::Loader<KeyedPair, KeyedPairBatch>>(
      std::move(sampler), std::move(policy),
      [dataset](int64_t i) {
        KeyedPair k{dataset->get(i), {}};
        k.key = pair_content_key(k.pair);
        return k;
      },
      [collate, layout](std::vector<KeyedPair>& items) { return collate_keyed(items, collate, layout); },
      cfg.data.loader, [](KeyedPairBatch& b) { data::pin_memory(b.batch); });
}

KeyedPair DpoObjective::load(const data::DpoDataset& ds, int64_t index) const {
  KeyedPair k{ds.get(index), {}};
  k.key = pair_content_key(k.pair);
  return k;
}

std::unique_ptr<MicroBatch> DpoObjective::next() {
  return std::make_unique<DpoMicro>(loader_->next().batch);
}

std::pair<at::Tensor, at::Tensor> DpoObjective::reference_logps(const KeyedPairBatch& host, const data::PairBatch& dev,
                                                                const nn::VisionOutput* vision) {
  const int64_t P = host.batch.num_pairs();
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  if (cache_) {
    std::vector<double> c(P), r(P);
    for (int64_t i = 0; i < P; ++i) std::tie(c[i], r[i]) = cache_->get(host.keys[i], host.batch.ids[i]);
    return {at::tensor(c, f64).to(ctx_.device), at::tensor(r, f64).to(ctx_.device)};
  }
  return live_logps(lora_reference_ ? *ctx_.policy : *reference_, dev, vision);
}

std::pair<at::Tensor, at::Tensor> DpoObjective::live_logps(nn::QwenVLImpl& m, const data::PairBatch& dev,
                                                           const nn::VisionOutput* vision) {
  const int64_t P = dev.num_pairs();
  torch::NoGradGuard no_grad;
  std::optional<models::LoraDisabled> base_only;
  if (lora_reference_) base_only.emplace(*ctx_.policy);
  AutocastScope autocast(ctx_.cfg->train.autocast, ctx_.device);
  AnswerStates s = pair_forward(m, dev, vision);
  kernels::LogprobResult lp = kernels::fused_linear_logprobs(s.hidden, head_weight_for(m, s.hidden), s.labels, logprob_);
  at::Tensor seq = kernels::sequence_logps(lp.logp, lp.valid, s.sequence_ids, 2 * P, dpo_.length_normalize,
                                           logprob_.deterministic);
  return {seq.slice(0, 0, P), seq.slice(0, P, 2 * P)};
}

DpoObjective::PairLosses DpoObjective::pair_losses(const KeyedPairBatch& host, const Units& global) {
  const int64_t P = host.batch.num_pairs();
  data::PairBatch dev = to_device(host.batch, ctx_.device);
  std::optional<nn::VisionOutput> shared;
  if (share_vision_ && dev.inputs.pixel_values.defined()) {
    torch::NoGradGuard no_grad;
    AutocastScope autocast(ctx_.cfg->train.autocast, ctx_.device);
    shared = ctx_.policy->encode_images(dev.inputs.pixel_values, dev.inputs.image_grid_thw);
  }
  const nn::VisionOutput* vision = shared ? &*shared : nullptr;
  auto [ref_c, ref_r] = reference_logps(host, dev, vision);

  kernels::DpoPairs pairs;
  pairs.ref_chosen_logps = ref_c;
  pairs.ref_rejected_logps = ref_r;
  pairs.weights = host.batch.weight.to(ctx_.device, at::kDouble);
  const bool any_manifest_margin = host.batch.has_margin.any().item<bool>();
  if (!dpo_.margin.is_zero() || (dpo_.margin.use_manifest && any_manifest_margin)) {
    at::Tensor rc = ref_c.cpu(), rr = ref_r.cpu();
    std::vector<double> m(P);
    for (int64_t i = 0; i < P; ++i) {
      const int64_t et = host.batch.error_type[i].item<int64_t>(), sv = host.batch.severity[i].item<int64_t>();
      m[i] = pair_margin(dpo_.margin, dpo_.beta, sv >= 0 ? std::optional(static_cast<Severity>(sv)) : std::nullopt,
                         et >= 0 ? std::optional(static_cast<ErrorType>(et)) : std::nullopt,
                         host.batch.has_margin[i].item<bool>() ? std::optional(host.batch.margin[i].item<double>())
                                                               : std::nullopt,
                         rc[i].item<double>(), rr[i].item<double>());
    }
    pairs.margins = at::tensor(m, at::TensorOptions().dtype(at::kDouble)).to(ctx_.device);
  }

  kernels::DpoOptions o;
  o.loss_type = dpo_.loss;
  o.beta = dpo_.beta;
  o.label_smoothing = dpo_.label_smoothing;
  o.length_normalize = dpo_.length_normalize;
  o.num_pairs = global.pairs;
  o.logprobs = logprob_;
  AutocastScope autocast(ctx_.cfg->train.autocast, ctx_.device);
  AnswerStates s = pair_forward(*ctx_.policy, dev, vision);
  PairLosses out;
  out.d = kernels::fused_dpo_loss(s.hidden, head_weight_for(*ctx_.policy, s.hidden), s.labels, s.sequence_ids, pairs, o);
  out.loss = out.d.loss;
  if (dpo_.rpo_alpha > 0) {
    at::Tensor chosen = s.sequence_ids.ge(0) & s.sequence_ids.lt(P) & out.d.logprobs.valid;
    at::Tensor nll = -(out.d.token_logps * chosen).sum();
    out.loss = out.loss + dpo_.rpo_alpha * nll / std::max(1.0, global.chosen_tokens);
  }
  out.weights = pairs.weights;
  out.error_type = host.batch.error_type;
  out.severity = host.batch.severity;
  out.pairs = P;
  return out;
}

void DpoObjective::add_metrics(const PairLosses& l, const std::string& prefix, MetricSums& m) {
  at::Tensor cr = l.d.chosen_rewards.detach().cpu(), rr = l.d.rejected_rewards.detach().cpu();
  at::Tensor margin = cr - rr, correct = (cr > rr).to(at::kDouble);
  const double P = static_cast<double>(l.pairs);
  m.add(prefix + "rewards/chosen", cr.sum().item<double>(), P);
  m.add(prefix + "rewards/rejected", rr.sum().item<double>(), P);
  m.add(prefix + "rewards/margins", margin.sum().item<double>(), P);
  m.add(prefix + "rewards/accuracies", correct.sum().item<double>(), P);
  m.add(prefix + "logps/chosen", l.d.chosen_logps.detach().sum().item<double>(), P);
  m.add(prefix + "logps/rejected", l.d.rejected_logps.detach().sum().item<double>(), P);
  // Breakdowns: every key on every rank (0 / 0 where no pair of the kind is here).
  auto breakdown = [&](const std::string& what, const at::Tensor& kinds, const std::vector<std::string>& names) {
    for (size_t k = 0; k < names.size(); ++k) {
      at::Tensor sel = kinds.eq(static_cast<int64_t>(k)).to(at::kDouble);
      const double n = sel.sum().item<double>();
      m.add(prefix + "rewards/accuracies/" + what + "/" + names[k], (correct * sel).sum().item<double>(), n);
      m.add(prefix + "rewards/margins/" + what + "/" + names[k], (margin * sel).sum().item<double>(), n);
    }
  };
  breakdown("error_type", l.error_type.cpu(), config::enum_names<ErrorType>());
  breakdown("severity", l.severity.cpu(), config::enum_names<Severity>());
}

void DpoObjective::train_micro(MicroBatch& batch, const Units& global, MetricSums& metrics) {
  auto& b = static_cast<DpoMicro&>(batch);
  PairLosses l = pair_losses(b.batch, global);
  l.loss.backward();
  metrics.add("loss", l.loss.item<double>(), 0);
  add_metrics(l, "", metrics);
}

MetricSums DpoObjective::validate(int64_t max_batches) {
  MetricSums m;
  if (!val_) return m;
  torch::NoGradGuard no_grad;
  const int64_t b = ctx_.cfg->train.micro_batch_size;
  const int64_t batches = (val_->size() + b - 1) / b;
  const int64_t limit = max_batches > 0 ? std::min(batches, max_batches) : batches;
  // Every key exists on every rank, even one without validation batches.
  m.add("val/loss", 0, 0);
  int64_t bad = 0;
  for (int64_t j = ctx_.dp_rank; j < limit; j += ctx_.dp_size) {
    std::vector<KeyedPair> items;
    for (int64_t i = j * b; i < std::min(val_->size(), (j + 1) * b); ++i) {
      try {
        items.push_back(load(*val_, i));
      } catch (const UserError& e) {
        ++bad;
        log::warn("validation: {}", e.what());
      }
    }
    if (items.empty()) continue;
    KeyedPairBatch kb = collate_keyed(items, collate_, layout_);
    Units local{0, static_cast<double>(kb.batch.num_pairs()), 1};
    PairLosses l = pair_losses(kb, local);
    m.add("val/loss", l.loss.item<double>() * l.pairs, static_cast<double>(l.pairs));
    add_metrics(l, "val/", m);
  }
  if (m.values().size() == 1) {  // no batch here: emit the same keys with nothing counted
    PairLosses none;
    none.d.chosen_rewards = none.d.rejected_rewards = none.d.chosen_logps = none.d.rejected_logps =
        at::zeros({0}, at::kDouble);
    none.error_type = none.severity = at::zeros({0}, at::kLong);
    add_metrics(none, "val/", m);
  }
  if (bad > 0) log::warn("validation: {} bad records skipped", bad);
  return m;
}

void DpoObjective::build_cache(ckpt::Coordinator& comm) {
  torch::NoGradGuard no_grad;
  const int64_t b = ctx_.cfg->train.micro_batch_size;
  int64_t computed = 0, reused = 0, bad = 0;
  for (const auto& ds : {train_, val_}) {
    if (!ds) continue;
    const int64_t batches = (ds->size() + b - 1) / b;
    for (int64_t j = ctx_.dp_rank; j < batches; j += ctx_.dp_size) {
      std::vector<KeyedPair> items;
      for (int64_t i = j * b; i < std::min(ds->size(), (j + 1) * b); ++i) {
        try {
          KeyedPair k = load(*ds, i);
          if (cache_->contains(k.key)) {
            ++reused;
          } else {
            items.push_back(std::move(k));
          }
        } catch (const UserError&) {
          ++bad;  // training reports and replaces it; nothing to cache
        }
      }
      if (items.empty()) continue;
      KeyedPairBatch kb = collate_keyed(items, collate_, layout_);
      data::PairBatch dev = to_device(kb.batch, ctx_.device);
      // The live path, on the starting weights the policy still holds.
      auto [dc, dr] = live_logps(*ctx_.policy, dev, nullptr);
      const at::Tensor c = dc.cpu(), r = dr.cpu();
      for (size_t i = 0; i < kb.keys.size(); ++i) {
        cache_->put(kb.keys[i], c[i].item<double>(), r[i].item<double>());
        ++computed;
      }
    }
  }
  for (const std::string& part : comm.all_gather(cache_->encode())) cache_->merge_encoded(part);
  if (comm.rank() == 0) cache_->save();
  comm.barrier();
  log::info("reference cache {}: {} pairs computed, {} reused{}", cache_->path().string(), computed, reused,
            bad > 0 ? fmt::format(", {} bad records skipped", bad) : "");
}

}  // namespace ec::train
