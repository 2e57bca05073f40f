// JSONL reading shared by the evaluation tools (judge, filter, review sheets, report): every
// line is kept with its number, its raw text and either its parsed object or the reason it could
// not be parsed, so each tool can report bad lines instead of guessing. Also the two record kinds
// the tools need from a manifest (issue 3 format) and from predictions ({id, instruction}).
// The full manifest validation (files, images, token budget) is editcaption/data/manifest.h's.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ec::eval {

struct JsonlLine {
  size_t line = 0;  ///< 1-based
  std::string raw;
  nlohmann::ordered_json value;  ///< an object when `error` is empty
  std::string error;             ///< why the line is not a JSON object
};

/// Reads every non-blank line of a JSONL file. Throws UserError(Input) if the file cannot be read.
std::vector<JsonlLine> read_jsonl(const std::filesystem::path& path);

/// What the evaluation tools use of a manifest record.
struct PairRecord {
  size_t line = 0;
  std::string id;
  std::filesystem::path source;  ///< resolved against the manifest's directory
  std::filesystem::path target;
  std::string instruction;       ///< SFT reference instruction, or the DPO `chosen` one
  std::string category;          ///< empty when absent
  nlohmann::ordered_json gt;     ///< null when absent
  nlohmann::ordered_json record; ///< the whole record
};

struct ManifestProblem {
  size_t line = 0;
  std::string id;  ///< empty when unknown
  std::string reason;
};

struct PairManifest {
  std::filesystem::path path;
  std::vector<PairRecord> records;
  std::vector<ManifestProblem> problems;  ///< lines that were skipped, with the reason
};

/// Reads a manifest: JSON objects with a string `id`, `source` and `target`; duplicate ids and
/// bad lines are listed in `problems` (line, id, reason) and skipped.
PairManifest read_pair_manifest(const std::filesystem::path& path);

/// Predictions: JSONL {id, instruction}. Throws UserError(Input) naming the file, line and id for
/// a bad line, a missing field or a duplicate id (predictions are our own outputs: no guessing).
std::map<std::string, std::string> read_prediction_map(const std::filesystem::path& path);

/// The ground truth as the text the judge prompts show (paper table 6): "[Primary Changes]" and
/// "[Secondary Changes]" as numbered lists, then "[Overall Description]". A change is a string
/// or an object (its "text"/"description" field, else its fields as "key: value" pairs).
/// Without `gt`, the reference instruction stands in for it.
std::string ground_truth_text(const nlohmann::ordered_json& gt, const std::string& reference_instruction);
/// The change lists only (listing 3's "attribute check only" ground truth).
std::string ground_truth_changes(const nlohmann::ordered_json& gt, const std::string& reference_instruction);
/// One change rendered as text.
std::string change_text(const nlohmann::ordered_json& change);

/// `path` relative to `base_dir` when it lies below it or near it, else absolute; with '/'.
std::string path_for_manifest(const std::filesystem::path& path, const std::filesystem::path& base_dir);

}  // namespace ec::eval
