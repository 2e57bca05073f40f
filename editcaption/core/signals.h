// Stop requests from the scheduler or the user (SIGTERM, SIGUSR1, SIGINT). The handlers only record
// the signal in an atomic; the training loop polls it at step boundaries, where the ranks agree on
// it (the distributed layer's job), save through the normal checkpoint protocol and exit with
// ExitCode::Preempted. No I/O ever happens inside a handler.
//
// The flag is necessarily process-wide (a signal handler cannot reach an object); StopSignals is
// the RAII owner of the handlers and restores the previous ones when destroyed.
#pragma once

#include <signal.h>

#include <csignal>
#include <vector>

namespace ec {

class StopSignals {
 public:
  /// Installs the handlers and clears any earlier request. A second SIGINT while a stop is already
  /// requested restores the default action and re-raises it, so Ctrl-C twice still ends a stuck run.
  explicit StopSignals(std::vector<int> signals = {SIGTERM, SIGUSR1, SIGINT});
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  /// True once one of the signals arrived.
  bool requested() const;
  /// The first signal received (0 if none).
  int signal() const;
  /// Forgets the request (e.g. after the save it triggered).
  void clear();
  /// Marks a stop as requested without a signal (wall-clock budget, tests).
  void request(int signal_number);

  const std::vector<int>& signals() const { return signals_; }

 private:
  void restore();
  std::vector<int> signals_;
  std::vector<struct sigaction> saved_;  ///< the previous action of signals_[i]
};

/// "SIGTERM" for 15, etc.
const char* signal_name(int signal_number);

}  // namespace ec
