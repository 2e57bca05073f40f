#include "trainers/model_eval.h"

#include <set>

#include "editcaption/core/check.h"

namespace ec::train {

ModelEval eval_model(ModelSource& source, const std::filesystem::path& manifest, const CaptionOptions& options,
                     const eval::StructuredScorer& scorer) {
  EC_USER_CHECK(options.num_samples == 1, Usage, "eval --model scores one instruction per record (got --num-samples {})",
                options.num_samples);
  std::vector<eval::EvalRecord> records = eval::read_eval_manifest(manifest);
  ModelEval out;
  out.captions = caption_manifest(source, manifest, options);
  std::vector<eval::Prediction> predictions;
  for (const auto& c : out.captions.captions) predictions.push_back({c.id, c.instruction, 0});
  if (options.limit > 0) {
    // Records past --limit were never captioned: they are not part of this evaluation.
    std::set<std::string> captioned;
    for (const auto& c : out.captions.captions) captioned.insert(c.id);
    for (const auto& b : out.captions.bad) captioned.insert(b.id);
    std::erase_if(records, [&](const eval::EvalRecord& r) { return !captioned.count(r.id); });
  }
  out.report = eval::evaluate(records, predictions, scorer);
  return out;
}

std::filesystem::path predictions_path_for(const std::filesystem::path& report) {
  std::filesystem::path p = report;
  p.replace_extension(".predictions.jsonl");
  return p;
}

}  // namespace ec::train
