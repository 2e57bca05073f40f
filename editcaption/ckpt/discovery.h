// Finding the checkpoint to resume from. `resume: auto` takes the newest step_NNNNNNNN/ that is
// complete (parseable manifest) and verified, ignoring temporaries of unfinished saves, and falls
// back to older ones with a warning for each one it rejects.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "editcaption/ckpt/config.h"
#include "editcaption/ckpt/coordinator.h"

namespace ec::ckpt {

struct CheckpointDir {
  std::filesystem::path dir;
  int64_t step = 0;
};

struct DirectoryScan {
  /// step_NNNNNNNN directories (complete or not), by increasing step.
  std::vector<CheckpointDir> checkpoints;
  /// Leftovers of saves or deletions that did not finish (*.tmp.*, *.deleting.*, *.replaced.*).
  std::vector<std::filesystem::path> leftovers;
  /// What `latest` names, if the file exists.
  std::optional<std::string> latest;
};

/// Lists a checkpoint root; a missing root scans as empty.
DirectoryScan scan_checkpoints(const std::filesystem::path& root);

struct ResumeChoice {
  std::filesystem::path dir;
  int64_t step = 0;
  /// Newer checkpoints that were rejected, with the reason.
  std::vector<std::string> rejected;
};

/// The newest usable checkpoint under `root`. Returns nothing if there is no step_* directory at
/// all (a fresh run); throws UserError(Checkpoint) listing every rejection if none is usable.
std::optional<ResumeChoice> find_resume_checkpoint(const std::filesystem::path& root, VerifyLevel level);

/// `spec` is "auto" (find_resume_checkpoint), "none" (nothing), or a checkpoint directory, which must
/// verify (no fallback: the user named it) or UserError(Checkpoint).
std::optional<ResumeChoice> resolve_resume(const std::string& spec, const std::filesystem::path& root,
                                           VerifyLevel level);
/// The same decided once by rank 0 and broadcast, so that every rank resumes from the same place
/// (or every rank throws the same error).
std::optional<ResumeChoice> resolve_resume(const std::string& spec, const std::filesystem::path& root,
                                           VerifyLevel level, Coordinator& comm);

}  // namespace ec::ckpt
