#include "editcaption/core/error.h"

namespace ec {

const char* exit_code_name(ExitCode code) {
  switch (code) {
    case ExitCode::Ok: return "ok";
    case ExitCode::Internal: return "internal";
    case ExitCode::Usage: return "usage";
    case ExitCode::Input: return "input";
    case ExitCode::DataPolicy: return "data-policy";
    case ExitCode::Checkpoint: return "checkpoint";
    case ExitCode::NonFinite: return "non-finite";
    case ExitCode::Comm: return "comm";
    case ExitCode::Preempted: return "preempted";
  }
  return "unknown";
}

}  // namespace ec
