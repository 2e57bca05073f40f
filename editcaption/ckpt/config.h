// The `checkpoint:` section: where checkpoints go, how often, how many are kept, how a run resumes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "editcaption/config/visitor.h"

namespace ec::ckpt {

/// How much of a checkpoint is checked before it is trusted.
enum class VerifyLevel {
  Sizes,  ///< manifest parses, every listed file exists with its recorded size
  Full,   ///< and every file's SHA-256 matches the manifest
};
EC_CONFIG_ENUM(VerifyLevel, {{"sizes", VerifyLevel::Sizes}, {"full", VerifyLevel::Full}})

struct CheckpointConfig {
  using is_config_section = void;
  /// Directory holding step_NNNNNNNN/ checkpoints and `latest` (empty: <run dir>/checkpoints).
  std::filesystem::path dir;
  /// Save every this many optimizer steps (0: only on preemption and at the end).
  int64_t interval_steps = 500;
  /// Newest checkpoints kept (the newest may be mid-save when a job dies, so at least 2).
  int keep_last = 3;
  /// Also keep every checkpoint whose step is a multiple of this (0: none).
  int64_t keep_every = 0;
  /// Snapshot to host memory and write in a background thread.
  bool async = false;
  /// "auto" (newest complete and verified checkpoint, if any), "none", or a checkpoint directory.
  std::string resume = "auto";
  VerifyLevel verify = VerifyLevel::Full;
  /// Config keys allowed to differ from the checkpoint's on resume ("train.max_steps", "data.*").
  std::vector<std::string> allow_config_changes;
  /// Allow resuming DPO against a different reference model than the checkpoint recorded.
  bool allow_reference_change = false;

  template <class V>
  void visit(V& v) {
    v("dir", dir, "Checkpoint directory (empty: <run dir>/checkpoints).");
    v("interval_steps", interval_steps, "Save every N optimizer steps (0: only on preemption and at the end).",
      config::at_least<int64_t>(0));
    v("keep_last", keep_last, "Newest checkpoints kept (at least 2: the newest may be incomplete after a crash).",
      config::at_least(2));
    v("keep_every", keep_every, "Also keep checkpoints whose step is a multiple of this (0: none).",
      config::at_least<int64_t>(0));
    v("async", async, "Write checkpoints in a background thread from a host-memory snapshot.");
    v("resume", resume, "'auto' (newest complete, verified checkpoint, if any), 'none', or a checkpoint directory.",
      config::non_empty());
    v("verify", verify, "Check before resuming: 'full' (SHA-256 of every file) or 'sizes'.");
    v("allow_config_changes", allow_config_changes,
      "Config keys that may differ from the checkpoint's on resume ('a.b' also covers 'a.b.*'; '*' matches within a key part).");
    v("allow_reference_change", allow_reference_change, "Allow resuming DPO against a different reference model.");
  }
};

}  // namespace ec::ckpt
