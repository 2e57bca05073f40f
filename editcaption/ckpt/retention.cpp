#include "editcaption/ckpt/retention.h"

#include <algorithm>

#include "editcaption/core/check.h"

namespace ec::ckpt {

std::vector<int64_t> plan_retention(std::vector<int64_t> complete, int64_t committed, const RetentionPolicy& policy,
                                    std::optional<int64_t> protect) {
  EC_CHECK(policy.keep_last >= 2, "keep_last {} < 2", policy.keep_last);
  std::sort(complete.begin(), complete.end(), std::greater<>());
  complete.erase(std::unique(complete.begin(), complete.end()), complete.end());
  std::vector<int64_t> doomed;
  int kept_below = 0;
  for (int64_t step : complete) {
    if (step >= committed) continue;  // the committed one and any newer lineage
    bool keep = kept_below < policy.keep_last - 1;
    if (keep) ++kept_below;
    if (policy.keep_every > 0 && step % policy.keep_every == 0) keep = true;
    if (protect && step == *protect) keep = true;
    if (!keep) doomed.push_back(step);
  }
  std::sort(doomed.begin(), doomed.end());
  return doomed;
}

}  // namespace ec::ckpt
