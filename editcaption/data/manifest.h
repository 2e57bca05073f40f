// JSONL manifests of edit pairs (docs/data.md). One JSON object per line:
//   SFT: {"id", "source", "target", "instruction", ["category"], ["subcategory"], ["gt"]}
//   DPO: {"id", "source", "target", "chosen", "rejected", ["error_type"], ["severity"],
//         ["margin"], ["weight"]}
// Image paths are relative to the manifest's directory (or absolute) and must stay inside the
// dataset root unless allowed. Reading checks everything that needs no image I/O: UTF-8, JSON
// syntax, fields and types, enums, the structure of `gt`, paths, empty texts, duplicate ids.
// A bad line does not stop reading: it becomes a record that carries its problem, so that the
// training loop can report it and substitute it like any other bad sample.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "editcaption/config/visitor.h"
#include "editcaption/data/types.h"

namespace ec::data {

enum class ManifestKind { Sft, Dpo };
EC_CONFIG_ENUM(ManifestKind, {{"sft", ManifestKind::Sft}, {"dpo", ManifestKind::Dpo}})

/// One problem with one line: what `data check` prints and what the training log reports.
struct ManifestProblem {
  int64_t line = 0;  ///< 1-based line in the manifest
  std::string id;    ///< empty when the line has no readable id
  std::string reason;
  /// "manifest.jsonl:12 [id pair-0007]: reason"
  std::string str(const std::filesystem::path& manifest) const;
};

struct ManifestRecord {
  int64_t line = 0;
  std::string id;
  /// Paths as written and as resolved against the manifest's directory.
  std::string source_text, target_text;
  std::filesystem::path source, target;
  // SFT
  std::string instruction;
  std::optional<EditCategory> category;
  std::optional<std::string> subcategory;
  /// Structured ground truth, kept as written: {"primary": [...], "secondary": [...], "overall": "..."}.
  std::optional<nlohmann::json> gt;
  // DPO
  std::string chosen, rejected;
  std::optional<ErrorType> error_type;
  std::optional<Severity> severity;
  std::optional<double> margin;
  double weight = 1.0;
  /// Set when the line is unusable; the other fields then hold whatever could be read.
  std::optional<std::string> problem;

  bool ok() const { return !problem.has_value(); }
};

struct ManifestOptions {
  /// Expected kind; unset: taken from the first readable record.
  std::optional<ManifestKind> kind;
  /// Image paths must resolve inside this directory (empty: the manifest's directory).
  std::filesystem::path dataset_root;
  bool allow_outside_root = false;
};

struct Manifest {
  std::filesystem::path path;
  ManifestKind kind = ManifestKind::Sft;
  /// One record per non-blank line, in file order (bad lines included, with their problem).
  std::vector<ManifestRecord> records;
  /// Notes that do not make a record bad (unknown keys, with a suggestion when one is close).
  std::vector<ManifestProblem> warnings;
  /// SHA-256 of the manifest file: the dataset identity recorded in checkpoints.
  std::string fingerprint;

  int64_t size() const { return static_cast<int64_t>(records.size()); }
  int64_t num_bad() const;
};

/// Reads and checks a manifest. Throws UserError(Input) only when the file cannot be read or has
/// no records at all; every other problem is attached to its record.
Manifest read_manifest(const std::filesystem::path& path, const ManifestOptions& options = {});

/// Parses one line (exposed for tests): never throws, a problem is attached to the record.
/// Notes about unknown keys are appended to `warnings`.
ManifestRecord parse_manifest_line(std::string_view text, int64_t line, ManifestKind kind,
                                   const std::filesystem::path& manifest_dir, const std::filesystem::path& root,
                                   bool allow_outside_root, std::vector<std::string>* warnings = nullptr);

/// The kind a parsed JSON object looks like: DPO if it has "chosen" or "rejected", else SFT.
ManifestKind guess_record_kind(const nlohmann::json& object);

}  // namespace ec::data
