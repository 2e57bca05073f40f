// `editcaption ablate CONFIG`: the paper's training-strategy comparison (table 4) on identical data
// order and seeds: SFT only; DPO only (from the base model, which is then its reference); SFT+DPO
// (from the SFT result); SFT+HAE-DPO (the hae_dpo stage, from the SFT result). Optionally the DPO
// preference set is first extended with the SFT model's own mistakes (preference_mining.h). Every
// variant is evaluated on the held-out test manifest with the structured scorer, and the table is
// written as markdown, CSV and ablation.json (which `editcaption report` renders).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "editcaption/config/node.h"
#include "editcaption/eval/ablation_table.h"
#include "trainers/trainer.h"

namespace ec::train {

struct VariantOutcome {
  std::string key;   ///< sft, dpo_only, sft_dpo, sft_hae_dpo
  std::string name;  ///< as the table shows it
  StageResult run;
  std::filesystem::path report;  ///< the evaluation report (JSON)
};

struct AblationOutcome {
  std::filesystem::path dir;  ///< <output_dir>/<run.name>-ablation
  std::vector<VariantOutcome> variants;
  eval::AblationTableFiles table;
  std::string markdown;
  int exit_code = 0;  ///< non-zero when a stage stopped early (preempted): rerun to continue
};

/// The display name of a variant key; UserError(Usage) for an unknown key.
std::string variant_name(const std::string& key);

/// Runs the variants of `root` (its stages and `ablate:` section). Runs that already finished are
/// resumed from their final checkpoint and not trained again, so a rerun after a preemption goes on.
AblationOutcome run_ablation(const config::Node& root);

/// The device inference runs on: the first GPU when there is one.
at::Device inference_device();

}  // namespace ec::train
