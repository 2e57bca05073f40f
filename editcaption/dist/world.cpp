#include "editcaption/dist/world.h"

#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>

#include <fmt/ranges.h>

#include <algorithm>
#include <exception>
#include <thread>

#include "editcaption/core/check.h"
#include "editcaption/core/log.h"
#include "editcaption/dist/backend.h"
#include "editcaption/dist/liveness.h"
#include "editcaption/dist/store.h"

namespace ec::dist {

namespace {

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

bool is_loopback(const std::string& addr) { return addr == "localhost" || addr.rfind("127.", 0) == 0; }

}  // namespace

World::World(const DistConfig& cfg, const DistEnv& env) : cfg_(cfg), env_(env) {
  shape_ = resolve_mesh(env_.world_size, cfg_.dp, cfg_.tp);
  backend_ = cfg_.backend;
  if (backend_ == BackendKind::Auto) backend_ = nccl_available() ? BackendKind::Nccl : BackendKind::Gloo;
  device_ = backend_ == BackendKind::Nccl ? at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(env_.local_rank))
                                          : at::Device(at::kCPU);
  timeout_ = ms(cfg_.first_step_timeout_s.value_or(cfg_.timeout_s));

  if (env_.world_size > 1) {
    rdzv_ = std::make_unique<Rendezvous>(rendezvous(env_, ms(cfg_.init_timeout_s)));
    liveness_ = std::make_shared<Liveness>(rdzv_->connect, env_.rank, ms(cfg_.heartbeat_s), rdzv_->where);
  }
  std::vector<int> all(env_.world_size);
  for (int r = 0; r < env_.world_size; ++r) all[r] = r;
  world_ = make_group("world", all);
  tp_ = make_group(fmt::format("tp.{}", dp_rank()), shape_.tp_ranks(dp_rank()));
  dp_ = make_group(fmt::format("dp.{}", tp_rank()), shape_.dp_ranks(tp_rank()));
  tp_group_ = std::make_unique<TpGroup>(tp_);
  if (env_.rank == 0) {
    log::info("dist: {} rank(s) from {} ({}), mesh dp {} x tp {}, backend {}, device {}", env_.world_size,
              env_.source, rdzv_ ? rdzv_->where : "no rendezvous", shape_.dp, shape_.tp,
              config::enum_name(backend_), device_.str());
  }
}

std::shared_ptr<Group> World::make_group(const std::string& name, const std::vector<int>& ranks) {
  int me = static_cast<int>(std::find(ranks.begin(), ranks.end(), env_.rank) - ranks.begin());
  EC_CHECK(me < static_cast<int>(ranks.size()), "rank {} is not in group {}", env_.rank, name);
  if (ranks.size() == 1) return Group::local(name, device_, env_.rank);
  auto store = c10::make_intrusive<c10d::PrefixStore>("pg/" + name, rdzv_->store);
  c10::intrusive_ptr<c10d::Backend> backend;
  try {
    if (backend_ == BackendKind::Nccl) {
      backend = make_nccl_backend(store, me, static_cast<int>(ranks.size()), timeout_, env_.local_rank, name);
    } else {
      bool one_node = env_.local_world_size == env_.world_size && is_loopback(env_.master_addr);
      backend = make_gloo_backend(store, me, static_cast<int>(ranks.size()), ms(cfg_.init_timeout_s),
                                  one_node ? "127.0.0.1" : "");
    }
  } catch (const UserError&) {
    throw;
  } catch (const std::exception& e) {
    const auto* c = dynamic_cast<const c10::Error*>(&e);
    std::string what = c ? c->what_without_backtrace() : e.what();
    std::string diagnosis = liveness_ ? "\n" + liveness_->diagnose("setup." + name, 1, ranks) : "";
    throw EC_USER_ERROR(Comm, "rank {}: cannot create the {} group '{}' (global ranks {}): {}{}", env_.rank,
                        config::enum_name(backend_), name, fmt::join(ranks, ","), what, diagnosis);
  }
  Group::Setup s;
  s.name = name;
  s.global_ranks = ranks;
  s.rank = me;
  s.device = device_;
  s.timeout = timeout_;
  s.liveness = liveness_;
  return std::make_shared<Group>(std::move(s), std::move(backend));
}

void World::set_timeout(std::chrono::milliseconds timeout) {
  timeout_ = timeout;
  for (auto* g : {world_.get(), dp_.get(), tp_.get()}) g->set_timeout(timeout);
}

void World::first_step_done() { set_timeout(ms(cfg_.timeout_s)); }

void World::finish() {
  if (finished_) return;
  if (env_.world_size > 1) {
    // Everyone meets once more: no rank closes its communicators (or, on rank 0, the store) while
    // another one may still talk to it.
    world_->barrier();
    liveness_->note_exit("finished");
  }
  for (auto* g : {dp_.get(), tp_.get(), world_.get()}) g->shutdown();
  finished_ = true;
}

World::~World() {
  if (finished_ || env_.world_size == 1) return;
  bool error = std::uncaught_exceptions() > 0 || (liveness_ && liveness_->failed());
  if (liveness_) {
    liveness_->note_exit(error ? "stopped by an error (see its log)" : "stopped without finishing the job");
  }
  // Outstanding work may never complete after a failure: abort instead of flushing.
  for (auto* g : {dp_.get(), tp_.get(), world_.get()}) {
    try {
      g->abort();
    } catch (const std::exception& e) {
      log::debug("dist: aborting group '{}': {}", g->name(), e.what());
    }
  }
}

}  // namespace ec::dist
