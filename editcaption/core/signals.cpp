#include "editcaption/core/signals.h"

#include <atomic>
#include <cerrno>
#include <cstring>

#include "editcaption/core/check.h"

namespace ec {
namespace {

// The one piece of state a handler can reach. Lock-free, so async-signal-safe.
std::atomic<int> g_stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void on_stop_signal(int sig) {
  int expected = 0;
  if (!g_stop_signal.compare_exchange_strong(expected, sig) && sig == SIGINT) {
    // A second Ctrl-C: the user wants out now. signal() and raise() are async-signal-safe.
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
  }
}

}  // namespace

StopSignals::StopSignals(std::vector<int> signals) : signals_(std::move(signals)) {
  g_stop_signal.store(0);
  for (int sig : signals_) {
    struct sigaction act {};
    act.sa_handler = on_stop_signal;
    sigemptyset(&act.sa_mask);
    // SA_RESTART: a slow read or write interrupted by the signal resumes instead of failing.
    act.sa_flags = SA_RESTART;
    struct sigaction old {};
    if (::sigaction(sig, &act, &old) != 0) {
      int err = errno;
      restore();
      EC_CHECK(false, "sigaction({}) failed: {}", sig, std::strerror(err));
    }
    saved_.push_back(old);
  }
}

StopSignals::~StopSignals() { restore(); }

void StopSignals::restore() {
  for (size_t i = saved_.size(); i-- > 0;) ::sigaction(signals_[i], &saved_[i], nullptr);
  saved_.clear();
}

bool StopSignals::requested() const { return g_stop_signal.load() != 0; }
int StopSignals::signal() const { return g_stop_signal.load(); }
void StopSignals::clear() { g_stop_signal.store(0); }
void StopSignals::request(int signal_number) {
  int expected = 0;
  g_stop_signal.compare_exchange_strong(expected, signal_number);
}

const char* signal_name(int signal_number) {
  switch (signal_number) {
    case SIGTERM: return "SIGTERM";
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    case SIGINT: return "SIGINT";
    case SIGHUP: return "SIGHUP";
    case SIGQUIT: return "SIGQUIT";
    case 0: return "none";
    default: return "signal";
  }
}

}  // namespace ec
