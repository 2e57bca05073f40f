// `eval --model`: caption a test manifest with a model, then score the instructions with the
// structured scorer exactly as `eval --predictions` scores a predictions file, so that both give
// the same report for the same instructions.
#pragma once

#include <filesystem>

#include "editcaption/eval/report.h"
#include "editcaption/eval/scorer.h"
#include "trainers/captioner.h"
#include "trainers/model_source.h"

namespace ec::train {

struct ModelEval {
  eval::EvalReport report;
  CaptionResult captions;
};

/// Reads the manifest's ground truth first (a record without `gt` fails before any generation),
/// captions it (one instruction per record: options.num_samples must be 1) and scores it.
/// Records skipped for unreadable images appear in report.missing_predictions.
ModelEval eval_model(ModelSource& source, const std::filesystem::path& manifest, const CaptionOptions& options,
                     const eval::StructuredScorer& scorer);

/// The predictions file written next to a report: report.json -> report.predictions.jsonl.
std::filesystem::path predictions_path_for(const std::filesystem::path& report);

}  // namespace ec::train
