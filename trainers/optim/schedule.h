// Learning-rate schedules: the rate is a pure function of the optimizer step, so a resumed run
// continues exactly where it stopped.
//
// `step` counts updates already applied (0 for the first update). Warmup rises linearly from
// peak / warmup (never 0) to peak at step warmup - 1; then over [warmup, total) the rate decays
// to min_ratio * peak (cosine or linear) or stays (constant); from total on it is the minimum.
#pragma once

#include <cstdint>

#include "editcaption/config/visitor.h"

namespace ec::optim {

enum class ScheduleKind { Constant, Linear, Cosine };
EC_CONFIG_ENUM(ScheduleKind,
               {{"constant", ScheduleKind::Constant}, {"linear", ScheduleKind::Linear}, {"cosine", ScheduleKind::Cosine}})

struct ScheduleConfig {
  using is_config_section = void;
  ScheduleKind kind = ScheduleKind::Cosine;
  int64_t warmup_steps = 0;
  /// Used when warmup_steps is 0: warmup = round(warmup_ratio * total steps).
  double warmup_ratio = 0.0;
  double min_lr_ratio = 0.0;

  template <class V>
  void visit(V& v) {
    v("kind", kind, "Decay after warmup: cosine, linear (to min_lr_ratio * lr) or constant.");
    v("warmup_steps", warmup_steps, "Linear warmup steps (the first step already uses lr / warmup_steps).",
      config::at_least<int64_t>(0));
    v("warmup_ratio", warmup_ratio, "Warmup as a fraction of the total steps, when warmup_steps is 0.",
      config::range(0.0, 1.0));
    v("min_lr_ratio", min_lr_ratio, "Final learning rate as a fraction of the peak.", config::range(0.0, 1.0));
  }
};

class LrSchedule {
 public:
  LrSchedule(double peak_lr, ScheduleKind kind, int64_t warmup_steps, int64_t total_steps, double min_lr_ratio = 0.0);
  /// From the config; total_steps comes from the trainer (epochs x steps per epoch).
  LrSchedule(double peak_lr, const ScheduleConfig& cfg, int64_t total_steps);
  double at(int64_t step) const;
  int64_t warmup_steps() const { return warmup_; }
  int64_t total_steps() const { return total_; }

 private:
  double peak_;
  ScheduleKind kind_;
  int64_t warmup_;
  int64_t total_;
  double min_ratio_;
};

}  // namespace ec::optim
