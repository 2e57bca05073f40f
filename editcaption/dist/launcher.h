// `editcaption launch`: starts the local ranks of a job with the variables torchrun sets, hosts
// the rendezvous store on node 0 (so that it outlives any rank), forwards SIGINT / SIGTERM /
// SIGUSR1 / SIGUSR2 / SIGHUP to every rank, and when one rank fails stops the others (SIGTERM,
// then SIGKILL after a grace period) and returns the failing rank's exit code.
#pragma once

#include <string>
#include <vector>

namespace ec::dist {

struct LaunchOptions {
  int nproc_per_node = 1;
  int nnodes = 1;
  int node_rank = 0;
  std::string master_addr = "127.0.0.1";
  /// 0 picks a free port (single node only).
  int master_port = 29500;
  /// Seconds between SIGTERM and SIGKILL when stopping the surviving ranks.
  double grace_s = 10;
  /// argv of every rank; argv[0] is looked up in PATH.
  std::vector<std::string> command;
};

/// Runs the job to the end and returns the exit code for the launcher: 0 when every rank exited
/// with 0, else the code of the first rank that failed (128 + signal for a rank killed by a
/// signal). Throws UserError(Usage) for bad options.
int launch(const LaunchOptions& options);

}  // namespace ec::dist
