// manifest.json: the commit record of a checkpoint. Rank 0 writes it last, after every rank's
// files are durable; a directory without a parseable manifest is not a checkpoint.
//
//   {"format": "editcaption-checkpoint", "format_version": 1, "step": 1200, "world_size": 2,
//    "created_unix": 1.7e9, "editcaption_version": "0.1.0",
//    "header": {"step": 1200, "epoch": 0, "micro_step": 0, "consumed_samples": ..., ...},
//    "files": {"rank_00000/model.safetensors": {"rank": 0, "size": 123, "sha256": "..."}, ...}}
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "editcaption/ckpt/state.h"

namespace ec::ckpt {

/// The newest format this build writes; it reads every version up to this one.
inline constexpr int kFormatVersion = 1;
inline constexpr std::string_view kFormatName = "editcaption-checkpoint";
inline constexpr std::string_view kManifestFile = "manifest.json";
inline constexpr std::string_view kLatestFile = "latest";

struct FileEntry {
  int rank = 0;
  uint64_t size = 0;
  std::string sha256;
};

struct Manifest {
  int format_version = kFormatVersion;
  int64_t step = 0;
  int world_size = 1;
  double created_unix = 0;
  std::string editcaption_version;
  CheckpointHeader header;
  /// Path relative to the checkpoint directory ("rank_00000/model.safetensors") -> entry.
  std::map<std::string, FileEntry> files;
};

nlohmann::ordered_json to_json(const Manifest& manifest);
/// Strict: duplicate keys, unknown format, a newer format_version, malformed fields or file
/// paths outside rank_NNNNN/ directories throw UserError(Checkpoint) naming `what`.
Manifest parse_manifest(std::string_view text, std::string_view what);
/// Reads <dir>/manifest.json; UserError(Checkpoint) if it is missing or invalid.
Manifest read_manifest(const std::filesystem::path& checkpoint_dir);

/// "step_00001200". Steps are zero-padded to 8 digits (longer when needed) so names sort.
std::string step_dir_name(int64_t step);
/// The step of an exact "step_<digits>" name; nothing for anything else (temporaries included).
std::optional<int64_t> parse_step_dir_name(std::string_view name);
/// "step_00001200.tmp.<nonce>" and other leftovers of unfinished saves or deletions.
bool is_leftover_dir_name(std::string_view name);
/// "rank_00003".
std::string rank_dir_name(int rank);

}  // namespace ec::ckpt
