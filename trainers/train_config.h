// The `train:` and `dpo:` config sections: what every stage's loop needs (steps, batch sizes,
// cadence of logging and evaluation, mixed precision, the update guard, where the weights start)
// and the DPO stage's objective (loss variant, beta, the frozen reference, HAE-style margins).
#pragma once

#include <cstdint>
#include <filesystem>

#include "editcaption/config/visitor.h"
#include "kernels/dpo_loss.h"
#include "trainers/dpo_margin.h"
#include "trainers/update_guard.h"

namespace ec::train {

enum class Autocast { None, BFloat16 };
EC_CONFIG_ENUM(Autocast, {{"none", Autocast::None}, {"bf16", Autocast::BFloat16}})

struct TrainConfig {
  using is_config_section = void;
  /// Where the weights start: a Hugging Face model directory, an editcaption checkpoint directory
  /// or a run directory (its newest checkpoint). Empty: `model` (pretrained or seeded random init).
  std::filesystem::path init;
  /// Optimizer steps of the run; 0: epochs x steps per epoch.
  int64_t max_steps = 0;
  int64_t epochs = 1;
  /// Samples (SFT) or pairs (DPO) per forward pass on one rank.
  int64_t micro_batch_size = 2;
  /// Samples or pairs per optimizer step over all ranks: accumulation = global / (micro x dp).
  int64_t global_batch_size = 8;
  int64_t log_every = 10;
  /// Validation every N steps (0: only at the end); needs data.val.
  int64_t eval_every = 0;
  /// Validation micro-batches per evaluation (0: the whole validation set).
  int64_t eval_batches = 0;
  Autocast autocast = Autocast::None;
  /// Save and exit with the preempted code once this much wall-clock time has passed (0: off):
  /// set it below the scheduler's hard limit.
  double time_budget_s = 0;
  /// Save and stop cleanly after this step (0: off) without changing the schedule: the first half
  /// of a split run.
  int64_t stop_at_step = 0;
  GuardConfig guard;

  template <class V>
  void visit(V& v) {
    v("init", init,
      "Starting weights: a Hugging Face directory, an editcaption checkpoint or run directory (empty: the model section).");
    v("max_steps", max_steps, "Optimizer steps (0: epochs x steps per epoch).", config::at_least<int64_t>(0));
    v("epochs", epochs, "Passes over the training set when max_steps is 0.", config::at_least<int64_t>(1));
    v("micro_batch_size", micro_batch_size, "Samples (SFT) or pairs (DPO) per forward pass on one rank.",
      config::at_least<int64_t>(1));
    v("global_batch_size", global_batch_size,
      "Samples or pairs per optimizer step over all ranks (a multiple of micro_batch_size x data-parallel size).",
      config::at_least<int64_t>(1));
    v("log_every", log_every, "Console and metrics.jsonl every N steps.", config::at_least<int64_t>(1));
    v("eval_every", eval_every, "Validation every N steps (0: only at the end); needs data.val.",
      config::at_least<int64_t>(0));
    v("eval_batches", eval_batches, "Validation micro-batches per evaluation (0: all).", config::at_least<int64_t>(0));
    v("autocast", autocast, "Mixed precision: none, or bf16 autocast over fp32 master weights.");
    v("time_budget_s", time_budget_s, "Save and exit 75 after this many seconds of wall clock (0: off).",
      config::at_least(0.0));
    v("stop_at_step", stop_at_step, "Save and stop after this step without changing the schedule (0: off).",
      config::at_least<int64_t>(0));
    v("guard", guard, "Skipping updates with a non-finite or outlier loss or gradient norm.");
  }
};

/// Where the DPO reference log-probs come from.
enum class ReferenceMode { Live, Cached };
EC_CONFIG_ENUM(ReferenceMode, {{"live", ReferenceMode::Live}, {"cached", ReferenceMode::Cached}})

struct DpoConfig {
  using is_config_section = void;
  kernels::DpoLossType loss = kernels::DpoLossType::Sigmoid;
  double beta = 0.1;
  /// Conservative DPO (sigmoid) / robust DPO (robust): the assumed label-noise rate.
  double label_smoothing = 0.0;
  /// Mean instead of sum of each answer's token log-probs (IPO as TRL defines it).
  bool length_normalize = false;
  /// RPO: weight of an NLL term on the chosen answers (0: off).
  double rpo_alpha = 0.0;
  ReferenceMode reference = ReferenceMode::Live;
  /// Content-addressed reference log-probs (empty: <run.output_dir>/reference_cache).
  std::filesystem::path cache_dir;
  MarginConfig margin;

  template <class V>
  void visit(V& v) {
    v("loss", loss, "DPO loss: sigmoid (the paper's eq. 2), ipo, hinge or robust.");
    v("beta", beta, "Strength of the KL regularisation towards the reference.", config::greater_than(0.0));
    v("label_smoothing", label_smoothing, "Assumed preference-label noise (sigmoid: cDPO; robust: rDPO).",
      config::range(0.0, 0.49));
    v("length_normalize", length_normalize, "Average the token log-probs of each answer instead of summing them.");
    v("rpo_alpha", rpo_alpha, "Weight of an NLL term on the chosen answers (RPO; 0: off).", config::at_least(0.0));
    v("reference", reference,
      "Reference log-probs: live (frozen reference run beside the policy) or cached (one pass before training, "
      "content-addressed on disk; training holds a single model).");
    v("cache_dir", cache_dir, "Reference cache directory (empty: <run.output_dir>/reference_cache).");
    v("margin", margin, "HAE-style per-pair margins (all zero: plain DPO).");
  }
};

}  // namespace ec::train
