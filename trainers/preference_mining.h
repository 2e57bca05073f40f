// The paper's preference recipe: the SFT model's own mistakes as rejected answers. Every SFT
// training record with structured ground truth is captioned several times by sampling; each sample
// the structured scorer finds defective (a P0, P1 or P2 verdict) becomes a DPO pair whose chosen
// answer is the record's reference instruction, with the defect's error type and severity. The
// output manifest holds the base preference manifest's records (the synthetic failure-mode
// negatives), then the mined pairs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "editcaption/eval/scorer.h"
#include "trainers/captioner.h"
#include "trainers/model_source.h"

namespace ec::train {

struct MiningOptions {
  CaptionOptions caption;  ///< num_samples and sampling settings included
};

struct MiningResult {
  std::filesystem::path manifest;
  int64_t base_pairs = 0;
  int64_t sampled = 0;   ///< answers generated
  int64_t mined = 0;     ///< defective answers turned into pairs
  std::map<std::string, int64_t> by_error_type;
};

/// Writes `out` (JSONL; image paths made absolute). `base` may be empty (mined pairs only).
MiningResult mine_preferences(ModelSource& model, const std::filesystem::path& sft_manifest,
                              const std::filesystem::path& base, const std::filesystem::path& out,
                              const eval::StructuredScorer& scorer, const MiningOptions& options);

}  // namespace ec::train
