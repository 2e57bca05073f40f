// Background loading: worker threads produce this rank's micro-batches ahead of the trainer, in a
// bounded window, and the trainer receives them strictly in sampler order whatever the thread
// timing. A micro-batch is built by calling the producer (dataset index -> item) for each of its
// indices, collating the items and, when CUDA is available, pinning the batch for asynchronous
// copies. A producer's UserError is a bad sample: it is retried with the bad-sample policy's
// deterministic replacement, and the failures are counted in delivery order on the trainer's
// thread. Any other exception is a bug and is rethrown by next() at that batch.
//
// The state (sampler cursor of the last delivered micro-batch + bad-sample counters) is JSON;
// restoring it into a fresh loader continues with exactly the next micro-batch.
#pragma once

#include <nlohmann/json.hpp>

#include <any>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "editcaption/config/visitor.h"
#include "editcaption/core/error.h"
#include "editcaption/data/bad_sample_policy.h"
#include "editcaption/data/sampler.h"

namespace ec::data {

/// `data.loader`
struct LoaderConfig {
  using is_config_section = void;
  int num_workers = 2;
  int prefetch = 4;
  bool pin_memory = true;

  template <class V>
  void visit(V& v) {
    v("num_workers", num_workers, "Worker threads decoding and collating ahead of the trainer (0: in the trainer's thread).",
      config::at_least(0));
    v("prefetch", prefetch, "Micro-batches prepared ahead of the trainer (bounds memory).", config::at_least(1));
    v("pin_memory", pin_memory, "Pin batches in page-locked memory when CUDA is available (faster host-to-device copies).");
  }
};

/// True when batches should be pinned: asked for and a CUDA device is usable.
bool should_pin_memory(const LoaderConfig& config);
/// The error for a sample whose replacements all failed too.
UserError attempts_exhausted(int64_t index, int64_t attempts);

/// The type-independent part of Loader: threads, the ordered window, the policy and the state.
class LoaderEngine {
 public:
  /// One produced micro-batch, type-erased.
  struct Result {
    std::any batch;
    std::vector<int64_t> indices;                     ///< dataset indices used (after replacement)
    std::vector<std::vector<BadSampleEvent>> events;  ///< per sample slot, failures before success
    std::exception_ptr error;
  };
  /// Builds one micro-batch; fills Result (never throws: errors go into Result::error).
  using Work = std::function<void(const MicroBatchPlan&, Result&)>;

  LoaderEngine(Sampler sampler, BadSamplePolicy policy, LoaderConfig config);
  ~LoaderEngine();
  LoaderEngine(const LoaderEngine&) = delete;
  LoaderEngine& operator=(const LoaderEngine&) = delete;

  /// Starts the workers (called once the work function is set).
  void start(Work work);
  /// The next micro-batch in order; counts its bad samples (may throw UserError(DataPolicy)).
  std::pair<MicroBatchPlan, Result> next();

  nlohmann::ordered_json state() const;
  void load_state(const nlohmann::json& state);

  const Sampler& sampler() const { return scheduler_; }
  const BadSamplePolicy& policy() const { return policy_; }
  /// Cursor after the last delivered micro-batch.
  SamplerCursor cursor() const;

 private:
  struct Slot {
    MicroBatchPlan plan;
    enum class State { Pending, Running, Done } state = State::Pending;
    Result result;
  };
  void launch();
  void shutdown();
  void fill_window();  // mu_ held
  void worker_loop();

  Sampler scheduler_;
  BadSamplePolicy policy_;
  LoaderConfig config_;
  Work work_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<std::shared_ptr<Slot>> window_;
  bool stopping_ = false;
  SamplerCursor delivered_;
  std::vector<std::thread> workers_;
};

template <class Batch>
struct LoadedBatch {
  Batch batch;
  MicroBatchPlan plan;
  std::vector<int64_t> indices;  ///< dataset indices in the batch (bad ones replaced)
};

template <class Item, class Batch>
class Loader {
 public:
  using Producer = std::function<Item(int64_t index)>;
  using Collate = std::function<Batch(std::vector<Item>& items)>;
  using Pin = std::function<void(Batch& batch)>;

  /// `producer` and `collate` run on worker threads: they must be thread-safe.
  Loader(Sampler sampler, BadSamplePolicy policy, Producer producer, Collate collate, LoaderConfig config = {},
         Pin pin = {})
      : engine_(std::move(sampler), policy, config) {
    const int64_t max_attempts = policy.max_attempts();
    const BadSamplePolicy* replacements = &engine_.policy();
    if (!should_pin_memory(config)) pin = {};
    engine_.start([=, producer = std::move(producer), collate = std::move(collate), pin = std::move(pin)](
                      const MicroBatchPlan& plan, LoaderEngine::Result& out) {
      try {
        std::vector<Item> items;
        items.reserve(plan.indices.size());
        for (int64_t scheduled : plan.indices) {
          auto& events = out.events.emplace_back();
          int64_t index = scheduled;
          for (int64_t attempt = 0;; ++attempt) {
            try {
              items.push_back(producer(index));
              out.indices.push_back(index);
              break;
            } catch (const UserError& e) {
              events.push_back({plan.begin.epoch, index, attempt, e.what()});
              if (attempt >= max_attempts) throw attempts_exhausted(scheduled, max_attempts);
              index = replacements->replacement(plan.begin.epoch, scheduled, attempt + 1);
            }
          }
        }
        Batch batch = collate(items);
        if (pin) pin(batch);
        out.batch = std::move(batch);
      } catch (...) {
        out.error = std::current_exception();
      }
    });
  }

  /// The next micro-batch of this rank, in sampler order.
  LoadedBatch<Batch> next() {
    auto [plan, result] = engine_.next();
    return {std::any_cast<Batch>(std::move(result.batch)), std::move(plan), std::move(result.indices)};
  }

  nlohmann::ordered_json state() const { return engine_.state(); }
  /// Continues after the micro-batch the state was taken at (workers restart from there).
  void load_state(const nlohmann::json& state) { engine_.load_state(state); }
  SamplerCursor cursor() const { return engine_.cursor(); }
  const Sampler& sampler() const { return engine_.sampler(); }
  const BadSamplePolicy& policy() const { return engine_.policy(); }

 private:
  LoaderEngine engine_;
};

}  // namespace ec::data
