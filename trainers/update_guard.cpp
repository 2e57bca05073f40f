#include "trainers/update_guard.h"

#include <cmath>

#include "editcaption/core/check.h"
#include "editcaption/core/log.h"

namespace ec::train {

double UpdateGuard::zscore(const std::deque<double>& history, double value) {
  double mean = 0;
  for (double h : history) mean += h;
  mean /= static_cast<double>(history.size());
  double var = 0;
  for (double h : history) var += (h - mean) * (h - mean);
  var /= static_cast<double>(history.size() - 1);
  double sd = std::sqrt(var);
  // A perfectly flat history (sd 0) makes any change infinitely unusual; require a real spread.
  if (sd < 1e-12 * std::max(1.0, std::abs(mean))) return 0.0;
  return (value - mean) / sd;
}

UpdateGuard::Decision UpdateGuard::check(int64_t step, double loss, double grad_norm) {
  Decision d;
  if (!config_.enabled) return d;
  if (!std::isfinite(loss)) {
    d = {true, fmt::format("non-finite loss ({})", loss)};
  } else if (!std::isfinite(grad_norm)) {
    d = {true, fmt::format("non-finite gradient norm ({})", grad_norm)};
  } else if (config_.zscore > 0 && static_cast<int>(losses_.size()) >= config_.min_history) {
    double zl = zscore(losses_, loss), zg = zscore(grad_norms_, grad_norm);
    if (zl > config_.zscore) d = {true, fmt::format("loss {:.4g} is an outlier (z = {:.1f})", loss, zl)};
    else if (zg > config_.zscore) d = {true, fmt::format("gradient norm {:.4g} is an outlier (z = {:.1f})", grad_norm, zg)};
  }
  if (d.skip) {
    ++consecutive_;
    ++total_;
    log::warn("step {}: update skipped: {} ({} in a row)", step, d.reason, consecutive_);
    if (consecutive_ > config_.max_consecutive_skips) {
      throw EC_USER_ERROR(NonFinite,
                          "step {}: {} consecutive updates skipped (last: {}); stopping. Lower the learning rate, "
                          "check the data, or raise train.guard.max_consecutive_skips",
                          step, consecutive_, d.reason);
    }
    return d;
  }
  consecutive_ = 0;
  losses_.push_back(loss);
  grad_norms_.push_back(grad_norm);
  while (static_cast<int>(losses_.size()) > config_.window) {
    losses_.pop_front();
    grad_norms_.pop_front();
  }
  return d;
}

nlohmann::json UpdateGuard::state() const {
  return {{"losses", std::vector<double>(losses_.begin(), losses_.end())},
          {"grad_norms", std::vector<double>(grad_norms_.begin(), grad_norms_.end())},
          {"consecutive", consecutive_},
          {"total", total_}};
}

void UpdateGuard::load_state(const nlohmann::json& s) {
  auto l = s.at("losses").get<std::vector<double>>();
  auto g = s.at("grad_norms").get<std::vector<double>>();
  EC_CHECK(l.size() == g.size(), "update guard state: {} losses but {} gradient norms", l.size(), g.size());
  losses_.assign(l.begin(), l.end());
  grad_norms_.assign(g.begin(), g.end());
  consecutive_ = s.at("consecutive").get<int>();
  total_ = s.at("total").get<int64_t>();
}

}  // namespace ec::train
