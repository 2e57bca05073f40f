// Deterministic sample order for data-parallel training with gradient accumulation.
//
// Each epoch has one global order, a function of (seed, epoch) only: the dataset indices shuffled
// (rng.h), optionally length-bucketed, and filled up to whole optimizer steps. Optimizer step s
// consumes the G = global_batch_size samples order[s*G, (s+1)*G); within it, accumulation
// micro-step a hands rank r the slice [s*G + (a*W + r)*b, s*G + (a*W + r + 1)*b) (W ranks,
// micro-batch b). So the global batch (the concatenation of every rank's micro-batches) is the
// same for any number of ranks, and the position in the epoch is one number, identical on every
// rank: the cursor that checkpoints store.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "editcaption/config/visitor.h"

namespace ec::data {

/// `data.sampler`
struct SamplerConfig {
  using is_config_section = void;
  bool shuffle = true;
  bool bucket_by_length = false;
  int64_t bucket_steps = 32;
  bool drop_last = false;

  template <class V>
  void visit(V& v) {
    v("shuffle", shuffle, "Shuffle the samples every epoch (from run.seed and the epoch).");
    v("bucket_by_length", bucket_by_length,
      "Group samples of similar length: within windows of bucket_steps optimizer steps, sort by length so that "
      "each micro-batch holds similar lengths (less padding), then shuffle the order of the steps.");
    v("bucket_steps", bucket_steps, "Optimizer steps per length-bucketing window.", config::at_least<int64_t>(1));
    v("drop_last", drop_last,
      "Drop the samples that do not fill a last optimizer step (default: fill it with the first samples of the "
      "epoch's order, so every sample is seen every epoch).");
  }
};

/// How one rank consumes the global order.
struct SamplerLayout {
  int64_t micro_batch_size = 1;   ///< b: samples per forward pass on one rank
  int64_t global_batch_size = 1;  ///< G: samples per optimizer step, all ranks together
  int world_size = 1;             ///< W: data-parallel ranks
  int rank = 0;
  /// Micro-batches per optimizer step on one rank: G / (W * b).
  int64_t accumulation() const { return global_batch_size / (micro_batch_size * world_size); }
  /// Throws UserError(Usage) unless G is a positive multiple of W * b.
  void validate() const;
};

/// A place in the data stream: the epoch and the number of its samples consumed by all ranks.
struct SamplerCursor {
  int64_t epoch = 0;
  int64_t position = 0;
  bool operator==(const SamplerCursor&) const = default;
};

/// One micro-batch for this rank.
struct MicroBatchPlan {
  SamplerCursor begin;  ///< cursor before this micro-batch (all ranks' share of it)
  SamplerCursor end;    ///< cursor after it
  int64_t step = 0;     ///< optimizer step within the epoch
  int64_t micro = 0;    ///< accumulation index within the step
  bool last_in_step = false;
  std::vector<int64_t> indices;  ///< dataset indices, micro_batch_size of them
};

class Sampler {
 public:
  /// `lengths` (tokens per sample) are needed for bucket_by_length.
  Sampler(int64_t dataset_size, const SamplerConfig& config, uint64_t seed, const SamplerLayout& layout,
          std::vector<int64_t> lengths = {});

  /// This rank's next micro-batch; epochs follow one another without end.
  MicroBatchPlan next();
  const SamplerCursor& cursor() const { return cursor_; }
  /// Continues from `cursor` (a micro-batch boundary of this layout).
  void seek(const SamplerCursor& cursor);

  /// The global order of an epoch: samples_per_epoch() dataset indices.
  std::vector<int64_t> epoch_order(int64_t epoch) const;
  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  int64_t samples_per_epoch() const { return steps_per_epoch_ * layout_.global_batch_size; }
  int64_t dataset_size() const { return dataset_size_; }
  const SamplerLayout& layout() const { return layout_; }

  /// The cursor plus everything the order depends on, as JSON (checkpoints).
  nlohmann::ordered_json state() const;
  /// Restores a state written by state(). A different seed, dataset size, global batch size,
  /// sampler config or sample lengths is refused (UserError(Checkpoint)): the order would differ.
  /// A different world size or micro-batch size is accepted at a micro-batch boundary of the new layout.
  void load_state(const nlohmann::json& state);

 private:
  const std::vector<int64_t>& order_for(int64_t epoch);
  std::string lengths_digest() const;

  int64_t dataset_size_;
  SamplerConfig config_;
  uint64_t seed_;
  SamplerLayout layout_;
  std::vector<int64_t> lengths_;
  int64_t steps_per_epoch_ = 0;
  SamplerCursor cursor_;
  int64_t cached_epoch_ = -1;
  std::vector<int64_t> cached_order_;
};

}  // namespace ec::data
