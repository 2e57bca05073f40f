#include "editcaption/data/loader.h"

#include <ATen/Context.h>
#include <c10/util/ParallelGuard.h>

#include "editcaption/core/check.h"

namespace ec::data {

bool should_pin_memory(const LoaderConfig& config) { return config.pin_memory && at::hasCUDA(); }

UserError attempts_exhausted(int64_t index, int64_t attempts) {
  return EC_USER_ERROR(DataPolicy, "sample {} and {} replacements all failed (data.bad_samples.max_attempts)", index,
                       attempts);
}

LoaderEngine::LoaderEngine(Sampler sampler, BadSamplePolicy policy, LoaderConfig config)
    : scheduler_(std::move(sampler)), policy_(std::move(policy)), config_(config) {
  delivered_ = scheduler_.cursor();
}

LoaderEngine::~LoaderEngine() { shutdown(); }

void LoaderEngine::start(Work work) {
  EC_CHECK(!work_, "LoaderEngine started twice");
  work_ = std::move(work);
  launch();
}

void LoaderEngine::launch() {
  std::lock_guard lk(mu_);
  stopping_ = false;
  fill_window();
  for (int i = 0; i < config_.num_workers; ++i) workers_.emplace_back([this] { worker_loop(); });
}

void LoaderEngine::shutdown() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  // A worker finishes the micro-batch it is building (a bounded amount of work), then exits.
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void LoaderEngine::fill_window() {
  while (static_cast<int>(window_.size()) < config_.prefetch) {
    auto slot = std::make_shared<Slot>();
    slot->plan = scheduler_.next();
    window_.push_back(std::move(slot));
  }
  work_cv_.notify_all();
}

void LoaderEngine::worker_loop() {
  // The workers are the parallelism: ATen ops on this thread (resize, normalize, collate) run
  // inline instead of also fanning out to the intra-op pool, whose spinning threads would compete
  // with the other workers and the trainer (measured: 4x the CPU per sample on a loaded machine).
  c10::ParallelGuard inline_aten(true);
  while (true) {
    std::shared_ptr<Slot> slot;
    {
      std::unique_lock lk(mu_);
      work_cv_.wait(lk, [&] {
        if (stopping_) return true;
        for (auto& s : window_) {
          if (s->state == Slot::State::Pending) return true;
        }
        return false;
      });
      if (stopping_) return;
      for (auto& s : window_) {
        if (s->state == Slot::State::Pending) {
          slot = s;
          break;
        }
      }
      slot->state = Slot::State::Running;
    }
    work_(slot->plan, slot->result);
    {
      std::lock_guard lk(mu_);
      slot->state = Slot::State::Done;
    }
    done_cv_.notify_all();
  }
}

std::pair<MicroBatchPlan, LoaderEngine::Result> LoaderEngine::next() {
  EC_CHECK(work_, "LoaderEngine::next before start");
  std::shared_ptr<Slot> slot;
  {
    std::unique_lock lk(mu_);
    fill_window();
    slot = window_.front();
    if (config_.num_workers == 0 && slot->state == Slot::State::Pending) {
      // No workers: build it here.
      slot->state = Slot::State::Running;
      lk.unlock();
      work_(slot->plan, slot->result);
      lk.lock();
      slot->state = Slot::State::Done;
    }
    done_cv_.wait(lk, [&] { return slot->state == Slot::State::Done; });
    window_.pop_front();
    fill_window();
  }
  // Count the failures in delivery order: this is what makes the policy's state independent of
  // thread timing.
  const int64_t epoch_samples = scheduler_.samples_per_epoch() / scheduler_.layout().world_size;
  const auto& events = slot->result.events;
  for (size_t i = 0; i < events.size(); ++i) {
    for (const auto& e : events[i]) policy_.record_failure(e, epoch_samples);
    if (i < slot->result.indices.size()) policy_.record_success();
  }
  if (slot->result.error) std::rethrow_exception(slot->result.error);
  {
    std::lock_guard lk(mu_);
    delivered_ = slot->plan.end;
  }
  return {std::move(slot->plan), std::move(slot->result)};
}

SamplerCursor LoaderEngine::cursor() const {
  std::lock_guard lk(mu_);
  return delivered_;
}

nlohmann::ordered_json LoaderEngine::state() const {
  nlohmann::ordered_json j;
  nlohmann::ordered_json sampler = scheduler_.state();
  SamplerCursor c = cursor();
  sampler["epoch"] = c.epoch;
  sampler["position"] = c.position;
  j["sampler"] = std::move(sampler);
  j["bad_samples"] = policy_.state();
  return j;
}

void LoaderEngine::load_state(const nlohmann::json& state) {
  // Validate on copies first: a refused state leaves the loader running as it was.
  Sampler sampler = scheduler_;
  BadSamplePolicy policy = policy_;
  try {
    sampler.load_state(state.at("sampler"));
    policy.load_state(state.at("bad_samples"));
  } catch (const nlohmann::json::exception& e) {
    throw EC_USER_ERROR(Checkpoint, "malformed data loader state: {}", e.what());
  }
  shutdown();
  {
    std::lock_guard lk(mu_);
    window_.clear();
    scheduler_ = std::move(sampler);
    policy_ = std::move(policy);
    delivered_ = scheduler_.cursor();
  }
  launch();
}

}  // namespace ec::data
