// Joining the job: reads nothing itself (takes the DistEnv and the `dist:` section), connects to
// the rendezvous store, starts the liveness heartbeat, and creates the world group and the
// dp x tp sub-groups. RAII: the destructor shuts the communicators down (aborts them after a
// failure) and tells the other ranks how this rank ended.
//
//   dist::World world(cfg.dist, dist::read_dist_env());
//   dist::GradSync sync(params, world.dp_group(), ...);   // data parallel
//   model uses world.tp()                                 // tensor parallel
//   ... world.first_step_done(); ... world.finish();
#pragma once

#include <chrono>
#include <memory>

#include "editcaption/dist/config.h"
#include "editcaption/dist/env.h"
#include "editcaption/dist/group.h"
#include "editcaption/dist/mesh.h"
#include "editcaption/dist/tp_group.h"

namespace ec::dist {

class Liveness;
struct Rendezvous;

class World {
 public:
  /// Blocks until every rank joined (dist.init_timeout_s). Throws UserError: Usage for a bad
  /// layout (dp x tp != world size, nccl without GPU), Comm when the rendezvous fails.
  World(const DistConfig& cfg, const DistEnv& env);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int rank() const { return env_.rank; }
  int size() const { return env_.world_size; }
  int local_rank() const { return env_.local_rank; }
  const DistEnv& env() const { return env_; }
  BackendKind backend() const { return backend_; }
  /// Where this rank computes and communicates: cuda:LOCAL_RANK with NCCL, cpu with Gloo.
  at::Device device() const { return device_; }

  const MeshShape& shape() const { return shape_; }
  int dp_rank() const { return shape_.dp_index(env_.rank); }
  int tp_rank() const { return shape_.tp_index(env_.rank); }
  Group& world() const { return *world_; }
  const std::shared_ptr<Group>& world_group() const { return world_; }
  const std::shared_ptr<Group>& dp_group() const { return dp_; }
  const std::shared_ptr<Group>& tp_group_ptr() const { return tp_; }
  /// The tensor-parallel group for the model's layers (size 1 when tp = 1).
  const TpGroup* tp() const { return tp_group_.get(); }

  /// Switches every group from dist.first_step_timeout_s to dist.timeout_s.
  void first_step_done();
  void set_timeout(std::chrono::milliseconds timeout);
  /// Normal end: every rank meets (so rank 0 keeps a store it hosts until all are done), then
  /// the communicators are shut down. Without it the destructor treats the exit as an error.
  void finish();

 private:
  std::shared_ptr<Group> make_group(const std::string& name, const std::vector<int>& ranks);

  DistConfig cfg_;
  DistEnv env_;
  MeshShape shape_;
  BackendKind backend_ = BackendKind::Gloo;
  at::Device device_ = at::kCPU;
  std::unique_ptr<Rendezvous> rdzv_;
  std::shared_ptr<Liveness> liveness_;
  std::chrono::milliseconds timeout_{600000};
  std::shared_ptr<Group> world_, dp_, tp_;
  std::unique_ptr<TpGroup> tp_group_;
  bool finished_ = false;
};

}  // namespace ec::dist
