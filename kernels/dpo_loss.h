// The DPO log-ratio loss over preference pairs, on top of fused_linear_logprobs.
//
// Sequences: a batch of P pairs holds 2P sequences; sequence i < P is the chosen answer of pair i and
// sequence P + i its rejected answer (TRL's concatenated layout). `sequence_ids` gives each token's
// sequence (-1: none, e.g. padding); prompt and image tokens carry ignore_index labels and are
// never projected.
//
// With pi_c, pi_r the policy's sequence log-probs (sums over the answer tokens, or means with
// length_normalize), ref_c, ref_r the reference's (computed the same way, given as input) and m_i
// an optional per-pair margin (EditCaption v2, HAE-DPO):
//   u_i = (pi_c - ref_c) - (pi_r - ref_r),   h_i = beta * u_i - m_i
//   sigmoid: -(1 - eps) log sigma(h) - eps log sigma(-h)            (eps = label_smoothing; cDPO)
//   robust:  (-(1 - eps) log sigma(h) + eps log sigma(-h)) / (1 - 2 eps)
//   hinge:   max(0, 1 - h)
//   ipo:     (h / beta - 1 / (2 beta))^2    (TRL's IPO averages log-probs: set length_normalize)
//   loss = sum_i w_i loss_i / num_pairs     (w_i: optional per-pair weights; num_pairs: the given
//                                            global count, else P)
// With m = 0 and w = 1 these are TRL's definitions. Metrics use TRL's names (dpo_metrics).
//
// RPO (an NLL term on the chosen answers) composes from `token_logps`, which stays in the graph, so
// both terms share one fused backward pass:
//   auto d = fused_dpo_loss(...);
//   auto chosen = (seq_ids >= 0) & (seq_ids < P) & d.logprobs.valid;
//   auto nll = -(d.token_logps * chosen).sum() / chosen.sum();
//   auto loss = d.loss + alpha * nll;
#pragma once

#include <ATen/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "editcaption/config/visitor.h"
#include "kernels/linear_logprobs.h"

namespace ec::kernels {

enum class DpoLossType { Sigmoid, Ipo, Hinge, Robust };
EC_CONFIG_ENUM(DpoLossType, {{"sigmoid", DpoLossType::Sigmoid},
                             {"ipo", DpoLossType::Ipo},
                             {"hinge", DpoLossType::Hinge},
                             {"robust", DpoLossType::Robust}})

struct DpoOptions {
  DpoLossType loss_type = DpoLossType::Sigmoid;
  double beta = 0.1;
  double label_smoothing = 0.0;
  /// Average instead of sum the token log-probs of each sequence.
  bool length_normalize = false;
  /// Normaliser of the loss (> 0): the global pair count of the optimizer step; 0: this call's P.
  double num_pairs = 0.0;
  LogprobOptions logprobs;
};

/// Pair-level inputs, each [P].
struct DpoPairs {
  at::Tensor ref_chosen_logps;
  at::Tensor ref_rejected_logps;
  at::Tensor margins;  ///< optional m_i, subtracted inside the loss (h = beta u - m)
  at::Tensor weights;  ///< optional w_i
};

struct DpoResult {
  at::Tensor loss;            ///< fp32 scalar, differentiable
  at::Tensor losses;          ///< [P] fp64 per-pair loss_i (before weights), differentiable
  at::Tensor chosen_logps;    ///< [P] fp64 pi_c, differentiable
  at::Tensor rejected_logps;  ///< [P] fp64 pi_r, differentiable
  at::Tensor chosen_rewards;  ///< [P] fp64 beta (pi_c - ref_c), no gradient
  at::Tensor rejected_rewards;///< [P] fp64 beta (pi_r - ref_r), no gradient
  at::Tensor token_logps;     ///< fp32, shaped like labels, differentiable (fused call only)
  LogprobResult logprobs;     ///< entropy, correct, valid (fused call only)
};

/// The loss from sequence log-probs (pi_c, pi_r: [P], any floating dtype, computed in fp64).
DpoResult dpo_loss(const at::Tensor& chosen_logps, const at::Tensor& rejected_logps, const DpoPairs& pairs,
                   const DpoOptions& options);

/// One call from final hidden states: fused log-probs, per-sequence sums, the loss and metrics.
/// hidden [..., D], labels and sequence_ids [...]; P = pairs.ref_chosen_logps.size(0).
DpoResult fused_dpo_loss(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& labels,
                         const at::Tensor& sequence_ids, const DpoPairs& pairs, const DpoOptions& options);

/// Per-sequence sums (means with length_normalize) of token log-probs, fp64 [num_sequences],
/// differentiable; tokens with valid == false or sequence id -1 do not count; a sequence without
/// tokens gets 0. `deterministic` avoids atomics on CUDA (a one-hot product instead of index_add).
/// The reference model's log-probs come from here too (under at::NoGradGuard).
at::Tensor sequence_logps(const at::Tensor& token_logps, const at::Tensor& valid, const at::Tensor& sequence_ids,
                          int64_t num_sequences, bool length_normalize, bool deterministic = false);

/// Means over the pairs under TRL's names: rewards/chosen, rewards/rejected, rewards/accuracies,
/// rewards/margins, logps/chosen, logps/rejected (0-dim fp64 tensors; no host sync).
std::vector<std::pair<std::string, at::Tensor>> dpo_metrics(const DpoResult& result);

}  // namespace ec::kernels
