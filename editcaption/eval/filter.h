// Filtering a manifest by scores (paper section 4: quality filtering, e.g. with EditScore):
// thresholds on numeric fields that an external scorer wrote into the records, or on this
// project's own per-sample scores (a scores JSONL such as `eval judge`'s scores.jsonl, joined by
// id and visible as `scores.<field>`). Every dropped record is reported with its reasons.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ec::eval {

struct Threshold {
  std::string field;  ///< dotted path into the record, e.g. "editscore" or "scores.S"
  double value = 0;
  bool is_min = true;  ///< keep field >= value (min) or field <= value (max)
  std::string describe() const;  ///< "editscore >= 7.5"
};

/// Parses "FIELD=VALUE"; throws UserError(Usage) naming the argument otherwise.
Threshold parse_threshold(std::string_view text, bool is_min);

struct FilterOptions {
  std::vector<Threshold> thresholds;
  std::filesystem::path scores;  ///< empty: no joined scores
  bool keep_missing = false;     ///< keep records lacking a field instead of dropping them
};

struct FilterDrop {
  size_t line = 0;
  std::string id;
  std::vector<std::string> reasons;
};

struct FilterResult {
  size_t total = 0;
  size_t kept = 0;
  std::vector<FilterDrop> dropped;
  std::map<std::string, size_t> reason_counts;  ///< records failing each reason (one may fail several)
  std::string output;                           ///< the kept records, one per line
  nlohmann::ordered_json report() const;
};

/// The value of a dotted field: the whole name as a key first, then the path, object by object.
const nlohmann::ordered_json* lookup_field(const nlohmann::ordered_json& record, const std::string& field);

/// Filters `manifest` for writing to `out`: kept lines are copied as they are when `out` lies in
/// the manifest's directory; otherwise their relative `source`/`target` paths are rewritten to
/// stay correct from the new location.
FilterResult filter_manifest(const std::filesystem::path& manifest, const std::filesystem::path& out,
                             const FilterOptions& options);

}  // namespace ec::eval
