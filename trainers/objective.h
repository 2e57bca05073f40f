// What a training stage plugs into the common loop (trainer.h): its data stream and its loss.
//
// The loop fetches the K micro-batches of an optimizer step first, so that the loss can be divided
// by the global number of units (answer tokens for SFT, pairs for DPO) of the whole step over all
// data-parallel ranks before any backward pass: k micro-batches of b then equal one batch of k*b.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "editcaption/data/sampler.h"

namespace ec::train {

/// The normalisers of a step, summed over every micro-batch and rank.
struct Units {
  double tokens = 0;  ///< labelled answer tokens
  double pairs = 0;   ///< DPO pairs (0 for SFT)
  double chosen_tokens = 0;  ///< DPO: labelled tokens of the chosen answers (RPO's NLL)
};

/// Metric sums and counts: a metric's value is sum / count. Every rank emits the same keys (a
/// breakdown with no member on this rank emits 0 / 0) so that they reduce as one flat vector.
class MetricSums {
 public:
  void add(const std::string& key, double sum, double count = 1) {
    auto& e = values_[key];
    e.first += sum;
    e.second += count;
  }
  void merge(const MetricSums& other) {
    for (const auto& [k, v] : other.values_) add(k, v.first, v.second);
  }
  const std::map<std::string, std::pair<double, double>>& values() const { return values_; }
  std::map<std::string, std::pair<double, double>>& values() { return values_; }

 private:
  std::map<std::string, std::pair<double, double>> values_;
};

/// One micro-batch on the host, as the stage's loader produced it.
class MicroBatch {
 public:
  virtual ~MicroBatch() = default;
  virtual Units units() const = 0;
  virtual int64_t samples() const = 0;
  /// Tokens run through the model (throughput).
  virtual int64_t tokens() const = 0;
  /// The first token ids of the first sequence (exact-resume checks print them).
  virtual std::vector<int64_t> head_tokens(int64_t n) const = 0;
};

class Objective {
 public:
  virtual ~Objective() = default;
  /// The next micro-batch of this rank (blocks on the loader).
  virtual std::unique_ptr<MicroBatch> next() = 0;
  /// Forward and backward of one micro-batch with the loss divided by the step's global units.
  /// Adds this micro-batch's share of the step loss to "loss" and its other metrics to `metrics`.
  virtual void train_micro(MicroBatch& batch, const Units& global, MetricSums& metrics) = 0;
  /// Validation over this rank's share of the validation set (no gradients); empty without one.
  virtual MetricSums validate(int64_t max_batches) = 0;
  virtual bool has_validation() const = 0;

  virtual int64_t steps_per_epoch() const = 0;
  virtual data::SamplerCursor cursor() const = 0;
  virtual nlohmann::ordered_json loader_state() const = 0;
  virtual void load_loader_state(const nlohmann::json& state) = 0;
  /// Bad samples so far, for the log ("3 bad samples (truncated JPEG 2, ...)").
  virtual std::string bad_sample_summary() const = 0;
  /// Identity of the frozen reference (DPO); empty otherwise.
  virtual std::string reference_identity() const { return {}; }
};

}  // namespace ec::train
