// Aggregating judge scores as the paper does (section 5.2, appendix B): each sample gets
// S = 0.4 Acc + 0.4 Comp + 0.2 Clar from its three dimension scores; the table reports the means
// of S, Acc, Comp and Clar over the samples whose three dimensions were all answered (S with
// three decimals, the dimensions with two, as in tables 2 and 4), overall and per category.
// Samples with a missing dimension are counted as unscored, never filled in.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "editcaption/eval/judge_runner.h"

namespace ec::eval {

/// The paper's weighted composite (equation 4).
double overall_score(double accuracy, double completeness, double clarity);

struct SampleJudgeScores {
  std::string id;
  std::string category;
  std::array<std::optional<double>, 3> dims;  ///< indexed by JudgeDimension
  bool complete() const { return dims[0] && dims[1] && dims[2]; }
  double S() const { return overall_score(*dims[0], *dims[1], *dims[2]); }
};

struct JudgeTableRow {
  size_t samples = 0;  ///< samples with all three dimensions
  double S = 0, accuracy = 0, completeness = 0, clarity = 0;
};

struct JudgeSummary {
  JudgeTableRow overall;
  std::map<std::string, JudgeTableRow> by_category;  ///< only when records carry a category
  size_t unscored = 0;                               ///< samples with a missing dimension
  nlohmann::ordered_json to_json() const;
};

/// Per-sample scores in request order, from the stored responses that answer `requests`.
std::vector<SampleJudgeScores> collect_judge_scores(const std::vector<JudgeRequest>& requests, const ResponseStore& store);
JudgeSummary summarize_judge_scores(const std::vector<SampleJudgeScores>& samples);
/// The table printed by `editcaption eval judge` (table-2 columns).
std::string format_judge_table(const JudgeSummary& summary, const std::string& title);

}  // namespace ec::eval
