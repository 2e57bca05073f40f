// The update guard: decides, before the optimizer step, whether to skip an update because the loss
// or the gradient norm is non-finite or an outlier (a z-score spike against a window of recent
// accepted steps, as llm.c does). It only sees globally reduced values, so every data-parallel rank
// takes the same decision without extra communication. Too many consecutive skips stop the run with
// ExitCode::NonFinite. Its state is part of every checkpoint so that a resumed run decides as the
// uninterrupted one would.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <string>

#include "editcaption/config/visitor.h"

namespace ec::train {

struct GuardConfig {
  using is_config_section = void;
  bool enabled = true;
  /// Stop the run (exit code 6) after this many consecutive skipped updates.
  int max_consecutive_skips = 5;
  /// Skip when the loss or the gradient norm is more than this many standard deviations above the
  /// mean of the window (0 disables the outlier test; non-finite values are always skipped).
  double zscore = 0.0;
  /// Accepted steps the statistics are computed over.
  int window = 64;
  /// Accepted steps needed before the outlier test applies.
  int min_history = 16;

  template <class V>
  void visit(V& v) {
    v("enabled", enabled, "Skip updates whose loss or gradient norm is non-finite (or an outlier).");
    v("max_consecutive_skips", max_consecutive_skips, "Consecutive skipped updates that stop the run (exit code 6).",
      config::at_least(1));
    v("zscore", zscore, "Outlier threshold in standard deviations above the window mean (0: off).",
      config::at_least(0.0));
    v("window", window, "Accepted steps the outlier statistics cover.", config::at_least(2));
    v("min_history", min_history, "Accepted steps before the outlier test applies.", config::at_least(2));
  }
};

class UpdateGuard {
 public:
  struct Decision {
    bool skip = false;
    std::string reason;  ///< empty when accepted
  };

  explicit UpdateGuard(GuardConfig config = {}) : config_(config) {}

  /// Decides for one optimizer step from the global loss and the global gradient norm (before
  /// clipping). Accepted values enter the statistics. Throws UserError(NonFinite) when the number of
  /// consecutive skips exceeds the configured limit.
  Decision check(int64_t step, double loss, double grad_norm);

  int consecutive_skips() const { return consecutive_; }
  int64_t total_skips() const { return total_; }

  nlohmann::json state() const;
  void load_state(const nlohmann::json& state);

 private:
  static double zscore(const std::deque<double>& history, double value);
  GuardConfig config_;
  std::deque<double> losses_;
  std::deque<double> grad_norms_;
  int consecutive_ = 0;
  int64_t total_ = 0;
};

}  // namespace ec::train
