// What happens to a sample that cannot be produced (missing or corrupt image, bad record, over
// budget...): it is reported and replaced by another sample chosen deterministically,
//   replacement = f(seed, epoch, index, attempt)   (rng.h, stream kReplacementStream),
// so every rank still delivers the same number of micro-batches, and a resumed run makes the
// same substitutions. Nothing is dropped silently: every failure is counted by reason, the first
// ones are logged with the sample's id, and past a threshold (a fraction of the epoch, or K
// failures in a row) the run stops with ExitCode::DataPolicy. `strict` stops at the first one.
//
// The policy counts failures in delivery order (the loader feeds it on the consumer thread), so
// its state does not depend on worker timing and round-trips through checkpoints exactly.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "editcaption/config/visitor.h"

namespace ec::data {

/// `data.bad_samples`
struct BadSampleConfig {
  using is_config_section = void;
  bool strict = false;
  double max_fraction = 0.01;
  int64_t max_consecutive = 16;
  int64_t max_attempts = 8;
  int64_t log_first = 20;

  template <class V>
  void visit(V& v) {
    v("strict", strict, "Stop at the first bad sample (debugging; `data check` finds them all beforehand).");
    v("max_fraction", max_fraction,
      "Stop (exit code 4) when more than this fraction of one rank's epoch is bad (rounded up).",
      config::range(0.0, 1.0));
    v("max_consecutive", max_consecutive, "Stop when this many sample attempts fail in a row.",
      config::at_least<int64_t>(1));
    v("max_attempts", max_attempts, "Replacements tried for one bad sample before stopping.",
      config::at_least<int64_t>(1));
    v("log_first", log_first, "Log the first N bad samples with id and reason; later ones are only counted.",
      config::at_least<int64_t>(0));
  }
};

/// One failed attempt to produce a sample.
struct BadSampleEvent {
  int64_t epoch = 0;
  int64_t index = 0;     ///< the dataset index that failed
  int64_t attempt = 0;   ///< 0: the scheduled sample, k: its k-th replacement
  std::string reason;    ///< the producer's UserError message (names the record and file)
};

class BadSamplePolicy {
 public:
  BadSamplePolicy(const BadSampleConfig& config, uint64_t seed, int64_t dataset_size);

  /// The index to try after `attempt` failures of the slot scheduled with `index` (attempt >= 1).
  /// A pure function of (seed, epoch, index, attempt); never `index` itself when the dataset has
  /// more than one sample.
  int64_t replacement(int64_t epoch, int64_t index, int64_t attempt) const;

  /// Counts one failure; `epoch_samples` is this rank's share of the epoch. Throws
  /// UserError(DataPolicy) when strict, or when a threshold is crossed.
  void record_failure(const BadSampleEvent& event, int64_t epoch_samples);
  /// A sample was produced: ends a run of consecutive failures.
  void record_success() { consecutive_ = 0; }

  int64_t max_attempts() const { return config_.max_attempts; }
  int64_t total_failures() const { return total_; }
  int64_t epoch_failures() const { return epoch_failures_; }
  const std::map<std::string, int64_t>& failures_by_reason() const { return by_reason_; }
  /// "3 bad samples (truncated JPEG 2, file not found 1)".
  std::string summary() const;

  nlohmann::ordered_json state() const;
  void load_state(const nlohmann::json& state);

  /// The short reason a message is counted under: the text after a leading "file: " prefix, up
  /// to its first ':', ';' or '('.
  static std::string reason_key(const std::string& reason);

 private:
  BadSampleConfig config_;
  uint64_t seed_;
  int64_t dataset_size_;
  int64_t total_ = 0;
  int64_t consecutive_ = 0;
  int64_t epoch_ = -1;
  int64_t epoch_failures_ = 0;
  int64_t logged_ = 0;
  std::map<std::string, int64_t> by_reason_;
};

}  // namespace ec::data
