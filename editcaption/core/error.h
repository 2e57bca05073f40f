// Error types and the process exit-code contract (docs/exit_codes.md).
//
// Library code throws; only main() turns an exception into an exit code. UserError is the one
// exception type for problems the user can fix (bad config, bad input file, refused resume...):
// its message names the file, line, key or tensor involved. Anything else escaping to main is a
// bug and exits with ExitCode::Internal.
#pragma once

#include <stdexcept>
#include <string>

namespace ec {

/// Documented process exit codes. Keep docs/exit_codes.md in sync (a test checks it).
enum class ExitCode : int {
  Ok = 0,
  Internal = 1,       ///< unexpected failure (a bug): report it
  Usage = 2,          ///< bad command line or configuration; not retryable
  Input = 3,          ///< unreadable or invalid input file (manifest, image, weights, tokenizer)
  DataPolicy = 4,     ///< too many bad records (threshold of the bad-sample policy exceeded)
  Checkpoint = 5,     ///< no usable checkpoint, or a resume refused as incompatible
  NonFinite = 6,      ///< the update guard skipped too many consecutive steps (NaN/Inf/outlier)
  Comm = 7,           ///< collective timeout or a dead rank; retryable from the last checkpoint
  Preempted = 75,     ///< stopped on a signal or wall-clock budget after saving; requeue (EX_TEMPFAIL)
};

const char* exit_code_name(ExitCode code);

/// A problem the user can fix. `code` says which exit code main() uses.
class UserError : public std::runtime_error {
 public:
  explicit UserError(std::string message, ExitCode code = ExitCode::Usage)
      : std::runtime_error(std::move(message)), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

/// Thrown when an internal invariant fails (EC_CHECK). Carries file:line.
class InternalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ec
