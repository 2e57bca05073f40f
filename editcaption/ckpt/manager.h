// Saving checkpoints: the commit protocol (docs/checkpoints.md).
//
//   1. rank 0 picks the directory step_%08d.tmp.<nonce> and broadcasts it; every rank checks it
//      saves the same step;
//   2. each rank writes rank_NNNNN/<name>.safetensors and <name>.json, each atomically and fsynced,
//      hashing them (SHA-256) as they are written;                         [ckpt.after_shard]
//   3. the ranks all-gather {ok, files, sizes, digests}; any failure fails the save on every rank;
//   4. rank 0 writes manifest.json (the commit record)                      [ckpt.before_manifest]
//      and fsyncs it, renames the directory to step_%08d                   [ckpt.before_rename]
//      and fsyncs the root, then rewrites `latest` by write-and-rename      [ckpt.before_latest]
//                                                                          [ckpt.after_latest]
//   5. only then does retention delete old checkpoints and leftovers of dead saves.
// A crash anywhere leaves the previous checkpoint complete and the newest complete one findable.
//
// Asynchronous mode: save() snapshots this rank's tensors to host memory (pinned for CUDA
// tensors) and writes them in a background thread; steps 3-5 run in the next save(), wait(),
// poll() or finish(), on the calling thread, after the data is durable. All collectives happen on
// the calling thread, in the same order on every rank.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "editcaption/ckpt/config.h"
#include "editcaption/ckpt/coordinator.h"
#include "editcaption/ckpt/state.h"
#include "editcaption/core/fault.h"

namespace ec::ckpt {

class CheckpointManager {
 public:
  /// `root`: the resolved checkpoint directory (config.dir or <run dir>/checkpoints). `faults`:
  /// nothing reads EC_FAULT_AT / EC_FAULT_RANK / EC_FAULT_STEP.
  CheckpointManager(CheckpointConfig config, std::filesystem::path root, std::shared_ptr<Coordinator> comm,
                    std::optional<FaultPlan> faults = std::nullopt);
  /// Joins a background write but does not commit it (that needs the other ranks): call finish().
  ~CheckpointManager();
  CheckpointManager(const CheckpointManager&) = delete;
  CheckpointManager& operator=(const CheckpointManager&) = delete;

  /// Collective. Saves this rank's `state` as part of checkpoint `header.step` (header as rank 0
  /// gives it). Synchronous mode: returns once the checkpoint is committed. Asynchronous: first
  /// commits the previous save, then returns once `state` is snapshotted. Throws
  /// UserError(Checkpoint) on every rank if any rank failed; the previous checkpoint stays.
  void save(const CheckpointHeader& header, const RankState& state);
  /// Collective. Waits for a background write and commits it; no-op when none is pending.
  void wait();
  /// Collective and cheap: commits a background write if every rank has finished writing.
  /// Returns true if it committed one.
  bool poll();
  /// Collective. wait(), for the end of a run or a preemption exit.
  void finish() { wait(); }

  /// Whether `step` is on the save interval.
  bool due(int64_t step) const { return config_.interval_steps > 0 && step % config_.interval_steps == 0; }
  bool pending() const { return pending_ != nullptr; }
  const std::filesystem::path& root() const { return root_; }
  std::optional<int64_t> last_committed_step() const { return last_committed_; }
  const CheckpointConfig& config() const { return config_; }

 private:
  struct Pending;
  void begin(const CheckpointHeader& header, Pending& p);
  void commit(Pending& p);
  void commit_on_rank0(Pending& p, const nlohmann::json& statuses);
  void run_retention(int64_t committed, const std::string& nonce);

  CheckpointConfig config_;
  std::filesystem::path root_;
  std::shared_ptr<Coordinator> comm_;
  FaultPlan faults_;
  std::unique_ptr<Pending> pending_;
  std::optional<int64_t> last_committed_;
};

}  // namespace ec::ckpt
