#include "kernels/dpo_loss.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/ranges.h>

#include "editcaption/core/check.h"

namespace ec::kernels {
namespace {

void check_pair_vector(const at::Tensor& t, const char* name, int64_t pairs, bool required) {
  if (!t.defined()) {
    EC_USER_CHECK(!required, Usage, "dpo_loss: {} is required", name);
    return;
  }
  EC_USER_CHECK(t.dim() == 1 && t.size(0) == pairs, Usage, "dpo_loss: {} must be [{}] (one value per pair), got {}",
                name, pairs, t.sizes());
  EC_USER_CHECK(at::isFloatingType(t.scalar_type()), Usage, "dpo_loss: {} must be floating point, got {}", name,
                c10::toString(t.scalar_type()));
}

void check_options(const DpoOptions& o) {
  EC_USER_CHECK(o.beta > 0.0, Usage, "dpo_loss: beta must be > 0, got {}", o.beta);
  EC_USER_CHECK(o.num_pairs >= 0.0, Usage, "dpo_loss: num_pairs must be >= 0, got {}", o.num_pairs);
  if (o.loss_type == DpoLossType::Robust) {
    EC_USER_CHECK(o.label_smoothing >= 0.0 && o.label_smoothing < 0.5, Usage,
                  "dpo_loss: label_smoothing must be in [0, 0.5) for the robust loss, got {}", o.label_smoothing);
  } else {
    EC_USER_CHECK(o.label_smoothing >= 0.0 && o.label_smoothing <= 1.0, Usage,
                  "dpo_loss: label_smoothing must be in [0, 1], got {}", o.label_smoothing);
  }
}

}  // namespace

at::Tensor sequence_logps(const at::Tensor& token_logps, const at::Tensor& valid, const at::Tensor& sequence_ids,
                          int64_t num_sequences, bool length_normalize, bool deterministic) {
  EC_USER_CHECK(sequence_ids.sizes() == token_logps.sizes() && valid.sizes() == token_logps.sizes(), Usage,
                "sequence_logps: sequence_ids {} and valid {} must have the shape of the token log-probs {}",
                sequence_ids.sizes(), valid.sizes(), token_logps.sizes());
  EC_USER_CHECK(!at::isFloatingType(sequence_ids.scalar_type()), Usage,
                "sequence_logps: sequence_ids must be integers, got {}", c10::toString(sequence_ids.scalar_type()));
  at::Tensor seq = sequence_ids.reshape({-1}).to(at::kLong);
  at::Tensor out_of_range = seq.lt(-1).logical_or(seq.ge(num_sequences));
  if (out_of_range.any().item<bool>()) {
    const int64_t pos = out_of_range.nonzero()[0][0].item<int64_t>();
    throw EC_USER_ERROR(Input, "sequence_ids: position {} holds {}, outside [-1, {})", pos, seq[pos].item<int64_t>(),
                        num_sequences);
  }
  at::Tensor logp = token_logps.reshape({-1}).to(at::kDouble);
  at::Tensor counted = valid.reshape({-1}).logical_and(seq.ge(0));
  at::Tensor sums, counts;
  if (deterministic && logp.is_cuda()) {
    // index_add on CUDA adds with atomics in whatever order threads arrive.
    at::Tensor ids = at::arange(num_sequences, seq.options()).unsqueeze(1);
    at::Tensor onehot = seq.unsqueeze(0).eq(ids).logical_and(counted.unsqueeze(0)).to(at::kDouble);
    sums = onehot.mv(logp);
    counts = onehot.sum(1);
  } else {
    at::Tensor idx = counted.nonzero().squeeze(1);
    at::Tensor target = seq.index_select(0, idx);
    sums = at::zeros({num_sequences}, logp.options()).index_add(0, target, logp.index_select(0, idx));
    counts = at::zeros({num_sequences}, logp.options()).index_add_(0, target, at::ones_like(target, logp.options()));
  }
  return length_normalize ? sums / counts.clamp_min(1.0) : sums;
}

DpoResult dpo_loss(const at::Tensor& chosen_logps, const at::Tensor& rejected_logps, const DpoPairs& pairs,
                   const DpoOptions& options) {
  check_options(options);
  EC_USER_CHECK(chosen_logps.defined() && chosen_logps.dim() == 1, Usage,
                "dpo_loss: chosen_logps must be [P] (one value per pair)");
  const int64_t p = chosen_logps.size(0);
  check_pair_vector(rejected_logps, "rejected_logps", p, true);
  check_pair_vector(pairs.ref_chosen_logps, "ref_chosen_logps", p, true);
  check_pair_vector(pairs.ref_rejected_logps, "ref_rejected_logps", p, true);
  check_pair_vector(pairs.margins, "margins", p, false);
  check_pair_vector(pairs.weights, "weights", p, false);

  auto f64 = [&](const at::Tensor& t) { return t.to(chosen_logps.device(), at::kDouble); };
  const double beta = options.beta;
  const double eps = options.label_smoothing;
  DpoResult r;
  r.chosen_logps = chosen_logps.to(at::kDouble);
  r.rejected_logps = rejected_logps.to(at::kDouble);
  at::Tensor chosen_ratio = r.chosen_logps - f64(pairs.ref_chosen_logps);
  at::Tensor rejected_ratio = r.rejected_logps - f64(pairs.ref_rejected_logps);
  at::Tensor h = beta * (chosen_ratio - rejected_ratio);
  if (pairs.margins.defined()) h = h - f64(pairs.margins);
  switch (options.loss_type) {
    case DpoLossType::Sigmoid:
      r.losses = -(1.0 - eps) * at::log_sigmoid(h) - eps * at::log_sigmoid(-h);
      break;
    case DpoLossType::Robust:
      r.losses = (-(1.0 - eps) * at::log_sigmoid(h) + eps * at::log_sigmoid(-h)) / (1.0 - 2.0 * eps);
      break;
    case DpoLossType::Hinge:
      r.losses = at::relu(1.0 - h);
      break;
    case DpoLossType::Ipo:
      r.losses = (h / beta - 1.0 / (2.0 * beta)).pow(2);
      break;
  }
  at::Tensor weighted = pairs.weights.defined() ? r.losses * f64(pairs.weights) : r.losses;
  const double norm = options.num_pairs > 0.0 ? options.num_pairs : static_cast<double>(std::max<int64_t>(p, 1));
  r.loss = (weighted.sum() / norm).to(at::kFloat);
  r.chosen_rewards = (beta * chosen_ratio).detach();
  r.rejected_rewards = (beta * rejected_ratio).detach();
  return r;
}

DpoResult fused_dpo_loss(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& labels,
                         const at::Tensor& sequence_ids, const DpoPairs& pairs, const DpoOptions& options) {
  check_options(options);
  EC_USER_CHECK(pairs.ref_chosen_logps.defined() && pairs.ref_chosen_logps.dim() == 1, Usage,
                "fused_dpo_loss: ref_chosen_logps must be [P] (one value per pair)");
  EC_USER_CHECK(sequence_ids.defined() && sequence_ids.sizes() == labels.sizes(), Usage,
                "fused_dpo_loss: sequence_ids must have the shape of labels {}", labels.sizes());
  const int64_t p = pairs.ref_chosen_logps.size(0);
  LogprobResult lp = fused_linear_logprobs(hidden, weight, labels, options.logprobs);
  at::Tensor seq = sequence_logps(lp.logp, lp.valid, sequence_ids.to(hidden.device()), 2 * p,
                                  options.length_normalize, options.logprobs.deterministic);
  DpoResult r = dpo_loss(seq.narrow(0, 0, p), seq.narrow(0, p, p), pairs, options);
  r.token_logps = lp.logp;
  r.logprobs = std::move(lp);
  return r;
}

std::vector<std::pair<std::string, at::Tensor>> dpo_metrics(const DpoResult& r) {
  c10::NoGradGuard no_grad;
  return {
      {"rewards/chosen", r.chosen_rewards.mean()},
      {"rewards/rejected", r.rejected_rewards.mean()},
      {"rewards/accuracies", r.chosen_rewards.gt(r.rejected_rewards).to(at::kDouble).mean()},
      {"rewards/margins", (r.chosen_rewards - r.rejected_rewards).mean()},
      {"logps/chosen", r.chosen_logps.detach().mean()},
      {"logps/rejected", r.rejected_logps.detach().mean()},
  };
}

}  // namespace ec::kernels
