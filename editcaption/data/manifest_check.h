// `editcaption data check`: every record of a manifest validated the way training validates it
// (fields, files, decodable images, sizes, token budget), with a report of counts by category,
// error type and severity and every problem with its line and id. The per-record check is also
// what the datasets run before producing a sample.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "editcaption/data/image_processor.h"
#include "editcaption/data/manifest.h"
#include "editcaption/data/sample_budget.h"

namespace ec::data {

/// Text tokens of a record's longest sequence, image-pad tokens excluded.
using TextTokenCounter = std::function<int64_t(const ManifestRecord&)>;
/// Estimate without a tokenizer: template_tokens + one token per UTF-8 byte of the answer (the
/// longer one for DPO), an upper bound for byte-level BPE.
TextTokenCounter estimate_text_tokens(const BudgetConfig& budget);

/// Both image files of a record, read whole, with their headers (structure checked).
struct RecordImages {
  std::string source_bytes, target_bytes;
  ImageHeader source, target;
};
/// Throws UserError(Input) naming the file: missing, not a regular file, unreadable, malformed,
/// truncated, or an aspect ratio the processor refuses.
RecordImages read_record_images(const ManifestRecord& record, const ImageProcessorOptions& image);

/// Checks both images of a parsed record (exist, structure, decode when `decode`, size limits)
/// and plans its token budget. Throws UserError(Input) naming the file and the reason.
SamplePlan check_record(const ManifestRecord& record, int64_t text_tokens, const ImageProcessorOptions& image,
                        const BudgetConfig& budget, bool decode);

struct CheckOptions {
  ImageProcessorOptions image;
  BudgetConfig budget;
  /// Decode every image (false: headers and file structure only, much faster).
  bool decode = true;
  int jobs = 2;
  /// Exact text-token counts (a tokenizer); empty: estimate_text_tokens.
  TextTokenCounter count_text;
  /// Show a progress bar on a terminal.
  bool progress = true;
};

struct CheckReport {
  std::filesystem::path manifest;
  std::string fingerprint;
  ManifestKind kind = ManifestKind::Sft;
  int64_t records = 0;
  int64_t valid = 0;
  int64_t downscaled = 0;
  int64_t max_tokens = 0;
  double mean_tokens = 0;
  int64_t max_seq_len = 0;
  bool tokens_estimated = true;
  /// Counts over valid records; "(none)" for records without the field.
  std::map<std::string, int64_t> by_category, by_subcategory, by_error_type, by_severity;
  std::vector<ManifestProblem> problems;
  std::vector<ManifestProblem> warnings;
};

CheckReport check_manifest(const Manifest& manifest, const CheckOptions& options);
std::string format_check_report(const CheckReport& report);
nlohmann::ordered_json check_report_json(const CheckReport& report);

}  // namespace ec::data
