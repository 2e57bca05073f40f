// Decisions every rank must take together, at step boundaries: one tiny all-reduce each, so that
// no rank stops, skips an update or runs out of batches while the others wait in a collective.
#pragma once

#include <cstdint>

#include "editcaption/dist/group.h"

namespace ec::dist {

/// True on every rank when at least one rank passed true (a MAX all-reduce). For the preemption
/// flag (SIGTERM/SIGUSR1 seen by any rank): all ranks save and stop at the same step.
bool agree_any(Group& group, bool flag);
/// True on every rank only when every rank passed true (a MIN all-reduce).
bool agree_all(Group& group, bool flag);

struct StepVerdict {
  bool stop = false;         ///< some rank asked to stop (preemption): save and exit 75
  bool skip_update = false;  ///< some rank saw a non-finite (or outlier) loss/gradient norm
};
/// Both step-boundary decisions in one collective.
StepVerdict agree_step(Group& group, bool stop_requested, bool skip_update);

/// Integer all-reduce (global token counts, the number of batches every rank can run, ...).
int64_t all_reduce_int(Group& group, int64_t value, ReduceOp op = ReduceOp::Sum);
/// Floating-point all-reduce in double precision (loss sums, metrics).
double all_reduce_double(Group& group, double value, ReduceOp op = ReduceOp::Sum);

}  // namespace ec::dist
