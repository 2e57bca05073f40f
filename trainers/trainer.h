// The training loop every stage shares (SFT, DPO), one process = one rank of the job:
//
//   join the job (dist::World) -> run directory -> tokenizer -> policy (train.init) -> objective
//   (its data stream; DPO builds its reference) -> optimizer over the trainable parameters (with a
//   bucketed gradient all-reduce across data-parallel ranks) -> resume from the newest verified
//   checkpoint -> steps: fetch the step's micro-batches, all-reduce their units, forward/backward
//   each with the loss divided by the global units, finish the gradient reduction, clip, guard,
//   update -> log, validate, checkpoint; at a stop request (signal or time budget) every rank
//   agrees at the step boundary, saves and exits with the preempted code.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "trainers/experiment_config.h"

namespace ec::train {

enum class Stage { Sft, Dpo };
const char* stage_name(Stage stage);

struct StageResult {
  int exit_code = 0;  ///< 0, or ExitCode::Preempted after a stop request
  int64_t steps = 0;  ///< optimizer steps completed (including resumed ones)
  int64_t total_steps = 0;
  std::filesystem::path run_dir;
  std::filesystem::path checkpoint;  ///< the last committed checkpoint
  double last_loss = 0;
};

/// Runs one stage to its end (or a stop request). Relative paths in `cfg` are taken from the
/// current directory.
StageResult run_stage(const ExperimentConfig& cfg, Stage stage);

/// `cfg` with every path made absolute (what run directories and checkpoints record).
ExperimentConfig with_absolute_paths(const ExperimentConfig& cfg);

}  // namespace ec::train
