// Evaluation over a test set: read the manifest's structured ground truth and a predictions file,
// score every prediction, and aggregate the paper's columns (table 2: S, Acc, Comp, Clar;
// table 3: Correct / P0 / P1 / P2) and the failure-mode rates, overall and per category.
// `evaluate` takes predictions from anywhere: a file (`eval --predictions`) or a model's
// generations (`eval --model`, later), so both paths share the scoring and the report.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "editcaption/eval/change.h"
#include "editcaption/eval/scorer.h"

namespace ec::eval {

/// A manifest record as evaluation needs it.
struct EvalRecord {
  std::string id;
  std::string category;     ///< semantic | stylistic | structural, or "" when absent
  std::string subcategory;
  GroundTruth gt;
  int line = 0;
};

/// One line of a predictions file: {"id": ..., "instruction": ...}.
struct Prediction {
  std::string id;
  std::string instruction;
  int line = 0;
};

/// Reads the records of a manifest (SFT format) that evaluation scores; every record needs `id`
/// and `gt`. Problems throw UserError(Input) naming the file, line and id.
std::vector<EvalRecord> read_eval_manifest(const std::filesystem::path& path);
/// Predictions in file order, duplicates kept (evaluate() reports them); records.h's
/// read_prediction_map is the map form the judge tools use.
std::vector<Prediction> read_predictions(const std::filesystem::path& path);

struct ScoredSample {
  std::string id;
  std::string category;
  std::string subcategory;
  std::string instruction;
  SampleScore score;
};

struct GroupSummary {
  std::string name;
  int64_t n = 0;
  double s = 0, accuracy = 0, completeness = 0, clarity = 0;  ///< means
  double correct = 0, p0 = 0, p1 = 0, p2 = 0;                  ///< fractions of samples
  double orientation = 0, viewpoint = 0;                       ///< fractions with such an error
  double attribute_error = 0, missing_attribute = 0;
  std::map<std::string, double> error_types;  ///< fraction whose main visible defect has the type
};

struct EvalReport {
  GroupSummary overall;
  std::vector<GroupSummary> categories;
  std::vector<GroupSummary> subcategories;
  std::vector<std::string> missing_predictions;  ///< manifest ids without a prediction (not scored)
  std::vector<std::string> unknown_predictions;  ///< prediction ids not in the manifest (ignored)
  std::vector<std::string> duplicate_predictions;
  std::vector<ScoredSample> samples;
};

GroupSummary summarize(const std::string& name, const std::vector<const ScoredSample*>& samples);
EvalReport build_report(std::vector<ScoredSample> samples);

/// Scores every record that has a prediction; lists the ones that do not.
EvalReport evaluate(const std::vector<EvalRecord>& records, const std::vector<Prediction>& predictions,
                    const StructuredScorer& scorer);

nlohmann::ordered_json to_json(const GroupSummary& g);
nlohmann::ordered_json to_json(const EvalReport& report, bool with_samples = true);
/// The human-readable table `editcaption eval` prints.
std::string format_report(const EvalReport& report);

}  // namespace ec::eval
