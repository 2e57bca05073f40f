#include "editcaption/core/fault.h"

#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>

#include "editcaption/core/check.h"
#include "editcaption/core/log.h"

namespace ec {

FaultPlan FaultPlan::parse(std::string_view spec) {
  FaultPlan plan;
  size_t colon = spec.find(':');
  plan.point = std::string(spec.substr(0, colon));
  if (colon != std::string_view::npos) {
    std::string_view mode = spec.substr(colon + 1);
    if (mode == "kill") {
      plan.mode = Mode::Kill;
    } else if (mode == "throw") {
      plan.mode = Mode::Throw;
    } else {
      throw EC_USER_ERROR(Usage, "EC_FAULT_AT='{}': mode must be 'kill' or 'throw', got '{}'", spec, mode);
    }
  }
  return plan;
}

namespace {
int64_t env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return -1;
  int64_t out = 0;
  std::string_view s(v);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || p != s.data() + s.size()) {
    throw EC_USER_ERROR(Usage, "{}='{}' is not an integer", name, s);
  }
  return out;
}
}  // namespace

FaultPlan FaultPlan::from_env() {
  const char* at = std::getenv("EC_FAULT_AT");
  if (!at || !*at) return {};
  FaultPlan plan = parse(at);
  plan.rank = static_cast<int>(env_int("EC_FAULT_RANK"));
  plan.step = env_int("EC_FAULT_STEP");
  return plan;
}

bool FaultPlan::hits(std::string_view name, int current_rank, int64_t current_step) const {
  return !point.empty() && point == name && (rank < 0 || rank == current_rank) && (step < 0 || step == current_step);
}

void FaultPlan::at(std::string_view name, int current_rank, int64_t current_step) const {
  if (!hits(name, current_rank, current_step)) return;
  if (mode == Mode::Kill) {
    log::flush();
    ::kill(::getpid(), SIGKILL);
    ::_exit(137);  // not reached
  }
  throw InjectedFault(fmt::format("injected fault at {} (rank {}, step {})", name, current_rank, current_step));
}

}  // namespace ec
