#include "trainers/optim/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "editcaption/core/check.h"

namespace ec::optim {

LrSchedule::LrSchedule(double peak_lr, ScheduleKind kind, int64_t warmup_steps, int64_t total_steps,
                       double min_lr_ratio)
    : peak_(peak_lr), kind_(kind), warmup_(warmup_steps), total_(total_steps), min_ratio_(min_lr_ratio) {
  EC_USER_CHECK(peak_lr > 0, Usage, "optim.lr must be > 0, got {}", peak_lr);
  EC_USER_CHECK(warmup_steps >= 0, Usage, "optim.schedule.warmup_steps must be >= 0, got {}", warmup_steps);
  EC_USER_CHECK(total_steps >= 1, Usage, "the schedule needs at least one step, got {}", total_steps);
  EC_USER_CHECK(min_lr_ratio >= 0 && min_lr_ratio <= 1, Usage, "optim.schedule.min_lr_ratio must be in [0, 1]");
}

LrSchedule::LrSchedule(double peak_lr, const ScheduleConfig& cfg, int64_t total_steps)
    : LrSchedule(peak_lr, cfg.kind,
                 cfg.warmup_steps > 0 ? cfg.warmup_steps
                                      : static_cast<int64_t>(std::llround(cfg.warmup_ratio * total_steps)),
                 total_steps, cfg.min_lr_ratio) {}

double LrSchedule::at(int64_t step) const {
  step = std::max<int64_t>(step, 0);
  if (step < warmup_) return peak_ * static_cast<double>(step + 1) / static_cast<double>(warmup_);
  double min_lr = peak_ * min_ratio_;
  if (kind_ == ScheduleKind::Constant) return peak_;
  if (step >= total_) return min_lr;
  double progress = static_cast<double>(step - warmup_) / static_cast<double>(std::max<int64_t>(1, total_ - warmup_));
  if (kind_ == ScheduleKind::Linear) return peak_ + (min_lr - peak_) * progress;
  return min_lr + (peak_ - min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace ec::optim
