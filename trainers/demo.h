// `editcaption demo [CONFIG]`: the whole method from nothing, on a CPU in minutes: the synthetic
// edit-pair dataset, a tokenizer trained on its texts, then the ablation (SFT of a small model from
// scratch, the preference set from the synthetic failure-mode negatives plus the SFT model's own
// sampled mistakes, DPO from the SFT model, DPO only, SFT+HAE-DPO), the table-4 comparison on the
// test split (held-out pairs; held-out combinations too when synth.holdout_fraction > 0), and a
// self-contained HTML report.
#pragma once

#include <filesystem>

#include "editcaption/config/node.h"
#include "trainers/ablation.h"

namespace ec::train {

struct DemoOutcome {
  AblationOutcome ablation;
  std::filesystem::path report;  ///< report.html
};

DemoOutcome run_demo(const config::Node& root);

}  // namespace ec::train
