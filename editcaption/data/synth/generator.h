// `editcaption synth`: generates the synthetic edit-pair dataset. Every pair is a function of
// (seed, split, index) alone, so the output is byte-identical for the same config whatever the
// number of threads. Layout (docs/data.md):
//   OUT/train.jsonl, val.jsonl, test.jsonl             SFT records with structured ground truth
//   OUT/dpo_train.jsonl, dpo_val.jsonl, dpo_test.jsonl DPO records (one labelled failure each)
//   OUT/images/<split>/<index>_source.png, _target.png
//   OUT/synth.json                                     counts, held-out combinations, config
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "editcaption/data/synth/config.h"
#include "editcaption/data/synth/edits.h"
#include "editcaption/data/synth/negatives.h"
#include "editcaption/data/synth/scene.h"

namespace ec::data::synth {

enum class Split { Train, Val, Test };
const char* split_name(Split s);

/// The attribute-object-edit combinations reserved for the test split: `holdout_fraction` of
/// each edit kind's combinations (at least one, and never all), chosen from the seed.
std::set<std::string> choose_holdout(const SynthConfig& config);

/// The edit kinds of a split in generation order: the category mix and the per-kind weights
/// turned into exact counts (largest remainder), then shuffled from the seed.
std::vector<EditKind> edit_schedule(const SynthConfig& config, Split split, int64_t count);

struct SynthSample {
  std::string id;
  Split split = Split::Train;
  Scene source;
  Edit edit;
  std::string instruction;
  std::vector<Negative> negatives;
};

/// Pair `index` of `split` with edit `kind`; a pure function of its arguments (images are drawn
/// separately with render()).
SynthSample generate_sample(const SynthConfig& config, const std::set<std::string>& holdout, Split split,
                            int64_t index, EditKind kind);

struct SynthResult {
  std::filesystem::path dir;
  int64_t pairs = 0;
  int64_t dpo_pairs = 0;
  nlohmann::ordered_json summary;  ///< what synth.json holds
};

/// Writes the whole dataset to `out` (created; an earlier synth output there is replaced, any
/// other non-empty directory is refused).
SynthResult generate_dataset(const SynthConfig& config, const std::filesystem::path& out);

}  // namespace ec::data::synth
