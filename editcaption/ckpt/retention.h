// Which old checkpoints to delete after a commit. Pure, so the rules are easy to test:
//   - the checkpoint just committed is always kept;
//   - so are the keep_last - 1 newest below it (keep_last >= 2: the newest may be mid-save when a
//     job dies, so the one before it must survive) and every multiple of keep_every;
//   - checkpoints newer than the committed one are never touched (another lineage: a resume from
//     an older checkpoint; `resume: auto` would still prefer them, so the manager warns);
//   - `protect` (what `latest` names) is kept.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace ec::ckpt {

struct RetentionPolicy {
  int keep_last = 3;
  int64_t keep_every = 0;
};

/// Steps of `complete` (committed checkpoints on disk) to delete.
std::vector<int64_t> plan_retention(std::vector<int64_t> complete, int64_t committed, const RetentionPolicy& policy,
                                    std::optional<int64_t> protect = std::nullopt);

}  // namespace ec::ckpt
