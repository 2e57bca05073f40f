// Inputs of `editcaption report`: each run directory's metrics.jsonl, and ablation.json files
// (schema "editcaption.ablation/1", documented in docs/report.md) with the per-variant
// evaluation outputs they point to (predictions and per-sample scores for the gallery).
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ec::eval {

struct RunMetrics {
  std::string name;
  std::filesystem::path dir;
  std::vector<nlohmann::ordered_json> records;  ///< records with a numeric "step", in file order
  size_t bad_lines = 0;                         ///< unreadable lines (skipped, reported)
};

/// Reads dir/metrics.jsonl (rank 0's file). Throws UserError(Input) if it is missing.
RunMetrics read_run_metrics(const std::filesystem::path& dir);

inline constexpr const char* kAblationSchema = "editcaption.ablation/1";

struct AblationVariant {
  std::string name;      ///< "SFT only", "DPO only", "SFT+DPO", "SFT+HAE-DPO", ...
  std::string test_set;  ///< rows are grouped by test set, as in the paper's table 4
  std::string run;       ///< the training run directory (informational)
  std::optional<double> samples;
  /// "S", "Acc", "Comp", "Clar" (scale 1-5) and "Correct", "P0", "P1", "P2" (fractions in [0, 1]).
  std::map<std::string, double> values;
  /// Failure-mode rates in [0, 1] ("orientation", "viewpoint", "attribute", ...), in file order.
  std::vector<std::pair<std::string, double>> failure_modes;
  std::filesystem::path predictions;  ///< JSONL {id, instruction}; empty: none
  std::filesystem::path per_sample;   ///< JSONL {id, S?, severity?, defects?}; empty: none
};

struct Ablation {
  std::filesystem::path path;
  std::string title;
  std::string model;
  std::filesystem::path manifest;  ///< the test manifest (gallery pairs and ground truth); empty: none
  std::vector<AblationVariant> variants;
};

/// Reads and checks an ablation.json; paths inside are relative to its directory. Throws
/// UserError(Input) naming the file and key for a wrong schema, type or out-of-range rate.
Ablation read_ablation(const std::filesystem::path& path);

/// The score columns in table order and the rate columns (lower is better for all but Correct).
inline const std::vector<std::string> kScoreColumns = {"S", "Acc", "Comp", "Clar"};
inline const std::vector<std::string> kRateColumns = {"Correct", "P0", "P1", "P2"};

}  // namespace ec::eval
