// Fault injection for reliability tests: named points in the code where a test can make the
// process fail, as a crash or a power cut would.
//
//   EC_FAULT_AT=ckpt.before_rename          throw InjectedFault at that point
//   EC_FAULT_AT=ckpt.before_rename:kill     SIGKILL this process there (nothing is cleaned up)
//   EC_FAULT_RANK=1                          only on that rank (default: every rank)
//   EC_FAULT_STEP=200                        only when saving/running that step (default: any)
//
// A FaultPlan is read once (from_env) by the component that owns the points and passed down, so
// tests can also build one directly. Points used by the checkpoint protocol: docs/checkpoints.md.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ec {

/// What an injected fault throws in Throw mode: not a UserError, so nothing mistakes it for a
/// handled condition.
class InjectedFault : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct FaultPlan {
  enum class Mode { Throw, Kill };
  std::string point;  ///< empty: no fault
  Mode mode = Mode::Throw;
  int rank = -1;      ///< -1: any rank
  int64_t step = -1;  ///< -1: any step

  /// Reads EC_FAULT_AT / EC_FAULT_RANK / EC_FAULT_STEP; throws UserError(Usage) if malformed.
  static FaultPlan from_env();
  /// Parses "point[:kill|:throw]".
  static FaultPlan parse(std::string_view spec);

  bool armed() const { return !point.empty(); }
  /// Whether this plan names `name` for this rank and step (points that corrupt instead of failing,
  /// e.g. train.nan_grad).
  bool hits(std::string_view name, int current_rank, int64_t current_step) const;
  /// Fails here if this plan names `name` (and the rank and step match).
  void at(std::string_view name, int current_rank, int64_t current_step) const;
};

}  // namespace ec
