// Stages of one experiment config. A config may hold a `stages:` map whose entries are partial
// configs merged on top of the rest for that stage:
//
//   data: {tokenizer: data/synth/tokenizer}
//   model: {base: ...}
//   stages:
//     sft: {data: {train: sft_train.jsonl}, train: {max_steps: 300}, optim: {lr: 1.0e-3}}
//     dpo: {data: {train: dpo_train.jsonl}, train: {max_steps: 100}, optim: {lr: 1.0e-4}}
//     hae_dpo: {dpo: {margin: {hardness: 1.0}}}        # merged on top of `dpo` as well
//
// `editcaption sft CONFIG` runs base + stages.sft, `editcaption dpo CONFIG` base + stages.dpo,
// `pipeline` SFT then DPO with train.init pinned to the SFT result, `ablate` the paper's variants.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "editcaption/config/node.h"
#include "trainers/experiment_config.h"

namespace ec::train {

/// The stage names a `stages:` map may hold.
const std::vector<std::string>& stage_names();

/// `root` without its `stages:` map.
config::Node without_stages(const config::Node& root);

/// The config of `stage` (sft, dpo or hae_dpo; hae_dpo is dpo plus its own entries), validated.
/// Unknown stage names in the map are errors naming the file and line.
ExperimentConfig stage_config(const config::Node& root, std::string_view stage);

/// Validates the base config and every stage the map holds (`config check`).
void check_stages(const config::Node& root);

}  // namespace ec::train
