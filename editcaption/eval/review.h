// Human refinement (paper section 4): a review sheet for people to correct model instructions,
// and the import of the filled sheet as SFT records or DPO pairs.
//
// The sheet is review.csv (columns kReviewColumns) plus review.html, a self-contained page with
// both thumbnails embedded, the model's and the reference instruction, and inputs for the
// corrected text, error type, severity and notes; its "Download CSV" button saves the same CSV
// format. Import never guesses: a row without a review, with an unknown error type or severity,
// or with a malformed field is reported with its row number and left out.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "editcaption/eval/records.h"

namespace ec::eval {

/// The sheet's columns, in order. Import finds them by header name (spreadsheets may reorder).
inline const std::vector<std::string> kReviewColumns = {
    "id", "source", "target", "category", "model_instruction", "reference_instruction",
    "corrected_instruction", "error_type", "severity", "notes"};

struct ReviewExportResult {
  size_t rows = 0;
  std::vector<std::string> missing_predictions;  ///< manifest ids without a prediction (not in the sheet)
  std::filesystem::path csv, html;
};

/// Writes out_dir/review.csv and out_dir/review.html (thumbnails at most `thumb_px` on a side).
/// Image paths in the CSV are absolute so that the sheet can be imported from anywhere.
ReviewExportResult export_review_sheet(const PairManifest& manifest, const std::map<std::string, std::string>& predictions,
                                       const std::filesystem::path& out_dir, int thumb_px);

enum class ReviewMode { Sft, Dpo };

struct ReviewProblem {
  size_t row = 0;   ///< spreadsheet row (header = 1)
  size_t line = 0;  ///< line in the file where the row starts
  std::string id;
  std::string reason;
};

struct ReviewImportResult {
  size_t rows = 0;                      ///< data rows (blank rows excluded)
  std::vector<nlohmann::ordered_json> records;
  std::vector<ReviewProblem> problems;  ///< rows left out, with the reason
  size_t accepted_as_is = 0;            ///< SFT: rows whose error_type 'none' accepts the model text
  size_t no_error = 0;                  ///< DPO: rows marked 'none' (no preference pair to make)
};

/// Reads a filled sheet. `out_path` is where the records will be written: their image paths are
/// made relative to its directory. Throws UserError(Input) if the file is not CSV or lacks a
/// required column.
ReviewImportResult import_review_sheet(const std::filesystem::path& csv, ReviewMode mode,
                                       const std::filesystem::path& out_path);

}  // namespace ec::eval
