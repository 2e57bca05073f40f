#include "trainers/dpo_margin.h"

#include <cmath>

namespace ec::train {

void MarginConfig::validate(config::Validation& v) const {
  for (const auto& [name, w] : severity) {
    bool known = false;
    for (const auto& n : config::enum_names<Severity>()) known = known || n == name;
    if (!known) v.error("severity", "has unknown severity '{}' (expected P0, P1, P2)", name);
    if (w < 0) v.error("severity", "weight of {} must be >= 0, got {}", name, w);
  }
  for (const auto& [name, w] : error_type) {
    bool known = false;
    for (const auto& n : config::enum_names<ErrorType>()) known = known || n == name;
    if (!known) {
      v.error("error_type", "has unknown error type '{}' (expected {})", name,
              join(config::enum_names<ErrorType>(), ", "));
    }
    if (w < 0) v.error("error_type", "weight of {} must be >= 0, got {}", name, w);
  }
}

bool MarginConfig::is_zero() const {
  if (scale == 0.0) return true;
  if (use_manifest || hardness != 0.0) return false;
  for (const auto& [k, w] : severity) {
    if (w != 0.0) return false;
  }
  for (const auto& [k, w] : error_type) {
    if (w != 0.0) return false;
  }
  return true;
}

double pair_margin(const MarginConfig& c, double beta, std::optional<Severity> severity,
                   std::optional<ErrorType> error_type, std::optional<double> manifest_margin, double ref_chosen,
                   double ref_rejected) {
  double m = 0.0;
  if (c.use_manifest && manifest_margin) m += *manifest_margin;
  if (severity) {
    auto it = c.severity.find(config::enum_name(*severity));
    if (it != c.severity.end()) m += it->second;
  }
  if (error_type) {
    auto it = c.error_type.find(config::enum_name(*error_type));
    if (it != c.error_type.end()) m += it->second;
  }
  if (c.hardness != 0.0) {
    double x = beta * (ref_rejected - ref_chosen);
    m += c.hardness / (1.0 + std::exp(-x));
  }
  return c.scale * m;
}

}  // namespace ec::train
