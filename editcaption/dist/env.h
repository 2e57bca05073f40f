// Where this process sits in the job, read from the environment a launcher sets:
// torchrun / `editcaption launch` (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT), else Slurm (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, first host of
// SLURM_JOB_NODELIST), else a single process.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace ec::dist {

struct DistEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  /// A launcher (torchrun's agent, `editcaption launch`) hosts the TCPStore; every rank is a client.
  bool launcher_store = false;
  /// Restart attempt of an elastic launcher (TORCHELASTIC_RESTART_COUNT): keys of attempts differ.
  int attempt = 0;
  /// "torchrun", "slurm" or "single": where the values came from (for logs).
  std::string source = "single";
};

/// Looks up one environment variable (std::getenv in production; a map in tests).
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();

/// Reads the job layout. Throws UserError (exit code 2) naming the variable when a value is
/// missing, not a number or inconsistent (RANK >= WORLD_SIZE, ...).
DistEnv read_dist_env(const EnvLookup& env = process_env());

/// The first host of a Slurm node list: "gpu[07-09,12],cpu1" -> "gpu07"; "a,b" -> "a".
std::string first_slurm_host(const std::string& nodelist);

}  // namespace ec::dist
