#include "editcaption/ckpt/manager.h"

#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <chrono>
#include <random>
#include <set>

#include "editcaption/ckpt/discovery.h"
#include "editcaption/ckpt/manifest.h"
#include "editcaption/ckpt/retention.h"
#include "editcaption/core/build_info.h"
#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/log.h"
#include "editcaption/core/run.h"
#include "editcaption/core/strings.h"
#include "editcaption/io/atomic_file.h"
#include "editcaption/io/safetensors.h"

namespace ec::ckpt {
namespace fs = std::filesystem;
using json = nlohmann::json;

struct CheckpointManager::Pending {
  CheckpointHeader header;
  std::string nonce;
  fs::path tmp_dir;
  std::string local_error;  ///< a problem found before writing (step disagreement, snapshot failure)
  RankState snapshot;       ///< asynchronous mode: the host copy being written
  std::thread thread;
  std::atomic<bool> done{false};
  json status;              ///< this rank's {ok, files | error}; set before `done`
  bool renamed = false;     ///< rank 0: the directory reached its final name
  bool latest_updated = false;
  double started = 0;
};

namespace {

std::string random_nonce() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}", rd(), rd());
}

// Writes one rank's files into tmp_dir/rank_NNNNN/ and describes them; never throws (a failure is
// reported in the status so that every rank learns about it in the all-gather).
json write_rank_files(const fs::path& tmp_dir, int rank, const RankState& state, const FaultPlan& faults,
                      int64_t step) {
  try {
    json files = json::object();
    fs::path rank_dir = tmp_dir / rank_dir_name(rank);
    std::error_code ec;
    fs::create_directory(rank_dir, ec);
    if (ec) throw EC_USER_ERROR(Input, "cannot create '{}': {}", rank_dir.string(), ec.message());
    bool first = true;
    auto after_file = [&](const std::string& rel, const io::WrittenFile& w) {
      files[rel] = {{"size", w.size}, {"sha256", w.sha256}};
      if (first) faults.at("ckpt.after_shard", rank, step);
      first = false;
    };
    for (const auto& [name, tf] : state.tensors) {
      check_state_name(name);
      std::string rel = rank_dir_name(rank) + "/" + name + ".safetensors";
      after_file(rel, io::write_safetensors(tmp_dir / rel, tf.tensors, tf.metadata, {.sha256 = true}));
    }
    for (const auto& [name, doc] : state.json) {
      check_state_name(name);
      std::string rel = rank_dir_name(rank) + "/" + name + ".json";
      io::AtomicFileWriter out(tmp_dir / rel, /*hash=*/true);
      out.write(doc.dump() + "\n");
      after_file(rel, out.commit());
    }
    return {{"ok", true}, {"files", files}};
  } catch (const std::exception& e) {
    return {{"ok", false}, {"error", e.what()}};
  }
}

// The host copy an asynchronous save writes from while training goes on.
RankState snapshot_to_host(const RankState& state) {
  RankState out;
  out.json = state.json;
  std::set<c10::DeviceIndex> cuda_devices;
  for (const auto& [name, tf] : state.tensors) {
    TensorFile copy;
    copy.metadata = tf.metadata;
    for (const auto& [tname, t] : tf.tensors) {
      at::Tensor src = t.detach();
      at::Tensor host;
      if (src.is_cuda()) {
        host = at::empty(src.sizes(), at::TensorOptions().dtype(src.dtype()).pinned_memory(true));
        host.copy_(src, /*non_blocking=*/true);
        cuda_devices.insert(src.device().index());
      } else {
        host = src.clone(at::MemoryFormat::Contiguous);
      }
      copy.tensors.emplace_back(tname, std::move(host));
    }
    out.tensors.emplace(name, std::move(copy));
  }
  // The copies were queued on each device's current stream; wait for them before returning.
  for (c10::DeviceIndex index : cuda_devices) {
    c10::impl::VirtualGuardImpl impl(c10::DeviceType::CUDA);
    impl.getStream(c10::Device(c10::DeviceType::CUDA, index)).synchronize();
  }
  return out;
}

}  // namespace

CheckpointManager::CheckpointManager(CheckpointConfig config, fs::path root, std::shared_ptr<Coordinator> comm,
                                     std::optional<FaultPlan> faults)
    : config_(std::move(config)),
      root_(std::move(root)),
      comm_(std::move(comm)),
      faults_(faults ? *faults : FaultPlan::from_env()) {
  EC_CHECK(comm_, "CheckpointManager needs a coordinator");
  EC_USER_CHECK(config_.keep_last >= 2, Usage, "checkpoint.keep_last must be >= 2, got {}", config_.keep_last);
  if (faults_.armed()) {
    log::warn("checkpoint: fault injection armed at {} ({}, rank {}, step {})", faults_.point,
              faults_.mode == FaultPlan::Mode::Kill ? "kill" : "throw", faults_.rank, faults_.step);
  }
}

CheckpointManager::~CheckpointManager() {
  if (!pending_) return;
  if (pending_->thread.joinable()) pending_->thread.join();
  log::warn("checkpoint: step {} was written in the background but never committed (finish() was not called); "
            "its temporary directory '{}' will be removed by the next save",
            pending_->header.step, pending_->tmp_dir.string());
}

void CheckpointManager::begin(const CheckpointHeader& header, Pending& p) {
  p.header = header;
  p.started = unix_time();
  json decision;
  if (comm_->rank() == 0) decision = {{"step", header.step}, {"nonce", random_nonce()}};
  decision = json::parse(comm_->broadcast(decision.dump(), 0));
  int64_t step = decision["step"].get<int64_t>();
  p.nonce = decision["nonce"].get<std::string>();
  p.tmp_dir = root_ / (step_dir_name(step) + ".tmp." + p.nonce);
  if (step != header.step) {
    p.local_error = fmt::format("rank {} saves step {} but rank 0 saves step {}", comm_->rank(), header.step, step);
  }
  std::string error;
  if (comm_->rank() == 0) {
    try {
      std::error_code ec;
      fs::create_directories(root_, ec);
      if (ec) throw EC_USER_ERROR(Input, "cannot create '{}': {}", root_.string(), ec.message());
      if (!fs::create_directory(p.tmp_dir, ec) || ec) {
        throw EC_USER_ERROR(Input, "cannot create '{}': {}", p.tmp_dir.string(),
                            ec ? ec.message() : std::string("it already exists"));
      }
      fsync_path(root_);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  error = comm_->broadcast(error, 0);
  if (!error.empty()) throw EC_USER_ERROR(Checkpoint, "checkpoint step {}: {}", step, error);
}

void CheckpointManager::save(const CheckpointHeader& header, const RankState& state) {
  wait();
  auto p = std::make_unique<Pending>();
  begin(header, *p);
  int rank = comm_->rank();
  if (!config_.async) {
    p->status = p->local_error.empty() ? write_rank_files(p->tmp_dir, rank, state, faults_, header.step)
                                       : json{{"ok", false}, {"error", p->local_error}};
    commit(*p);
    return;
  }
  if (p->local_error.empty()) {
    try {
      p->snapshot = snapshot_to_host(state);
    } catch (const std::exception& e) {
      p->local_error = fmt::format("snapshot to host memory failed: {}", e.what());
    }
  }
  if (!p->local_error.empty()) {
    p->status = {{"ok", false}, {"error", p->local_error}};
    p->done = true;
  } else {
    Pending* raw = p.get();
    FaultPlan faults = faults_;
    raw->thread = std::thread([raw, rank, faults] {
      raw->status = write_rank_files(raw->tmp_dir, rank, raw->snapshot, faults, raw->header.step);
      raw->snapshot = RankState();  // free the host copy as soon as it is on disk
      raw->done = true;
    });
  }
  pending_ = std::move(p);
}

void CheckpointManager::wait() {
  if (!pending_) return;
  std::unique_ptr<Pending> p = std::move(pending_);
  if (p->thread.joinable()) p->thread.join();
  commit(*p);
}

bool CheckpointManager::poll() {
  if (!pending_) return false;
  if (!comm_->all_true(pending_->done.load())) return false;
  wait();
  return true;
}

void CheckpointManager::commit(Pending& p) {
  int64_t step = p.header.step;
  std::vector<std::string> gathered = comm_->all_gather(p.status.dump());
  json statuses = json::array();
  std::vector<std::string> failures;
  for (size_t r = 0; r < gathered.size(); ++r) {
    statuses.push_back(json::parse(gathered[r]));
    if (!statuses.back().value("ok", false)) {
      failures.push_back(fmt::format("rank {}: {}", r, statuses.back().value("error", std::string("?"))));
    }
  }
  if (!failures.empty()) {
    throw EC_USER_ERROR(Checkpoint, "checkpoint step {} failed on {} of {} rank(s); the previous checkpoint is kept:\n  {}",
                        step, failures.size(), gathered.size(), join(failures, "\n  "));
  }
  std::string error;
  if (comm_->rank() == 0) {
    try {
      commit_on_rank0(p, statuses);
    } catch (const std::exception& e) {
      std::string dir = (root_ / step_dir_name(step)).string();
      if (p.latest_updated) {
        error = fmt::format("checkpoint step {} is committed in '{}', but what follows the commit failed: {}", step,
                            dir, e.what());
      } else if (p.renamed) {
        error = fmt::format("checkpoint step {} is complete in '{}' but `latest` was not updated: {}", step, dir,
                            e.what());
      } else {
        error = fmt::format("checkpoint step {} was not committed; the previous checkpoint is kept: {}", step,
                            e.what());
      }
    }
  }
  error = comm_->broadcast(error, 0);
  if (!error.empty()) throw UserError(error, ExitCode::Checkpoint);
  last_committed_ = step;
}

void CheckpointManager::commit_on_rank0(Pending& p, const json& statuses) {
  int64_t step = p.header.step;
  faults_.at("ckpt.before_manifest", 0, step);
  Manifest m;
  m.step = step;
  m.world_size = comm_->world_size();
  m.created_unix = unix_time();
  m.editcaption_version = build::kVersion;
  m.header = p.header;
  uint64_t bytes = 0;
  for (size_t r = 0; r < statuses.size(); ++r) {
    for (auto& [path, f] : statuses[r]["files"].items()) {
      m.files[path] = FileEntry{static_cast<int>(r), f["size"].get<uint64_t>(), f["sha256"].get<std::string>()};
      bytes += f["size"].get<uint64_t>();
    }
  }
  // The rank directories' entries must be durable before the manifest vouches for them.
  fsync_path(p.tmp_dir);
  io::AtomicFileWriter manifest(p.tmp_dir / kManifestFile);
  manifest.write(to_json(m).dump(2) + "\n");
  manifest.commit();

  faults_.at("ckpt.before_rename", 0, step);
  std::string name = step_dir_name(step);
  fs::path final_dir = root_ / name;
  fs::path replaced;
  if (fs::exists(final_dir)) {
    // Saving a step that already exists (a preemption right after a resume): the old copy steps
    // aside under a leftover name, so the step is never half old and half new.
    replaced = root_ / (name + ".replaced." + p.nonce);
    fs::rename(final_dir, replaced);
  }
  fs::rename(p.tmp_dir, final_dir);
  fsync_path(root_);
  p.renamed = true;

  faults_.at("ckpt.before_latest", 0, step);
  write_file_atomic(root_ / kLatestFile, name + "\n");
  p.latest_updated = true;
  faults_.at("ckpt.after_latest", 0, step);

  log::info("checkpoint: step {} committed to '{}' ({} files, {}, {:.1f} s)", step, final_dir.string(), m.files.size(),
            human_bytes(static_cast<double>(bytes)), unix_time() - p.started);
  std::error_code ec;
  if (!replaced.empty()) fs::remove_all(replaced, ec);
  try {
    run_retention(step, p.nonce);
  } catch (const std::exception& e) {
    log::warn("checkpoint: retention after step {} failed (nothing committed is affected): {}", step, e.what());
  }
}

void CheckpointManager::run_retention(int64_t committed, const std::string& nonce) {
  DirectoryScan scan = scan_checkpoints(root_);
  std::vector<int64_t> complete;
  std::vector<std::string> newer;
  for (const CheckpointDir& c : scan.checkpoints) {
    if (!fs::exists(c.dir / kManifestFile)) {
      log::warn("checkpoint: '{}' has no manifest; retention leaves it alone", c.dir.string());
      continue;
    }
    complete.push_back(c.step);
    if (c.step > committed) newer.push_back(c.dir.filename().string());
  }
  if (!newer.empty()) {
    log::warn("checkpoint: {} is newer than the step {} just saved (an older resume?); `resume: auto` prefers the "
              "newest, so remove them if this run supersedes them",
              join(newer, ", "), committed);
  }
  std::optional<int64_t> protect;
  if (scan.latest) protect = parse_step_dir_name(*scan.latest);
  for (int64_t step : plan_retention(complete, committed, {config_.keep_last, config_.keep_every}, protect)) {
    std::string name = step_dir_name(step);
    // Rename first: the directory leaves discovery atomically, however long the deletion takes.
    fs::path trash = root_ / (name + ".deleting." + nonce);
    std::error_code ec;
    fs::rename(root_ / name, trash, ec);
    if (ec) {
      log::warn("checkpoint: cannot retire '{}': {}", (root_ / name).string(), ec.message());
      continue;
    }
    fs::remove_all(trash, ec);
    if (ec) log::warn("checkpoint: cannot delete '{}': {}", trash.string(), ec.message());
    log::debug("checkpoint: retention removed {}", name);
  }
  // Leftovers of dead saves and deletions (this run's own temporary is already renamed).
  for (const fs::path& p : scan.leftovers) {
    std::error_code ec;
    fs::remove_all(p, ec);
    if (ec) {
      log::warn("checkpoint: cannot remove leftover '{}': {}", p.string(), ec.message());
    } else {
      log::info("checkpoint: removed leftover '{}' of an unfinished save", p.filename().string());
    }
  }
}

}  // namespace ec::ckpt
