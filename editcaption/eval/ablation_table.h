// The paper's table-4 ablation table built from evaluation reports: one row per training variant
// (SFT only, DPO only, SFT+DPO, ...) with S, Accuracy, Completeness, Clarity, the table-3 rates
// (Correct, P0, P1, P2) and the failure-mode rates (orientation, viewpoint, missing attribute,
// wrong attribute). Written three ways into one directory:
//   ablation.md    the table for a README or a paper draft;
//   ablation.csv   one row per variant, rates as fractions;
//   ablation.json  schema "editcaption.ablation/1" (report_inputs.h, docs/report.md), which
//                  `editcaption report` renders; with per_sample/<variant>.jsonl taken from the
//                  reports' per-sample scores, for its gallery.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ec::eval {

/// One variant: a name and the report `editcaption eval --out` wrote for it (a bare summary
/// object, as `overall` holds, works too).
struct AblationInput {
  std::string name;
  std::filesystem::path report;  ///< where `json` came from (messages; relative paths inside it)
  nlohmann::ordered_json json;
};

/// Reads a report file. Throws UserError(Input) naming the file when it is not a JSON object.
AblationInput read_ablation_input(const std::string& name, const std::filesystem::path& report);

struct AblationRow {
  std::string name;
  int64_t n = 0;
  double s = 0, accuracy = 0, completeness = 0, clarity = 0;
  double correct = 0, p0 = 0, p1 = 0, p2 = 0;
  double orientation = 0, viewpoint = 0, missing_attribute = 0, attribute_error = 0;
  std::filesystem::path predictions;  ///< resolved; empty when the report names none
  std::filesystem::path manifest;     ///< resolved; empty when the report names none
  nlohmann::ordered_json samples;     ///< the report's per-sample scores (null when left out)
};

/// The row of one report. Throws UserError(Input) naming the file and key that is missing or not
/// a number.
AblationRow ablation_row(const AblationInput& input);

struct AblationTableOptions {
  std::string title = "Ablation";
  std::string model;     ///< shown above the table; optional
  std::string test_set;  ///< every row's test set (table 4 groups rows by it); optional
};

std::string ablation_markdown(const std::vector<AblationRow>& rows, const AblationTableOptions& options);
std::string ablation_csv(const std::vector<AblationRow>& rows, const AblationTableOptions& options);
/// Paths inside are written relative to `out_dir` (where ablation.json goes).
nlohmann::ordered_json ablation_json(const std::vector<AblationRow>& rows, const AblationTableOptions& options,
                                     const std::filesystem::path& out_dir);

struct AblationTableFiles {
  std::filesystem::path markdown, csv, json;
  std::vector<std::filesystem::path> per_sample;
};

/// Writes ablation.md, ablation.csv, ablation.json and per_sample/*.jsonl into `out_dir`
/// (created). Throws UserError(Usage) for no inputs or two variants of the same name.
AblationTableFiles write_ablation_table(const std::vector<AblationInput>& inputs, const std::filesystem::path& out_dir,
                                        const AblationTableOptions& options = {});

}  // namespace ec::eval
