#include "editcaption/dist/config.h"

namespace ec::dist {

void DistConfig::validate(config::Validation& v) const {
  if (dp > 0 && tp > 0 && static_cast<int64_t>(dp) * tp > (1 << 20)) v.error("dp", "dp * tp is implausibly large");
  if (bucket_mb > 4096) v.error("bucket_mb", "must be at most 4096 MiB, got {}", bucket_mb);
}

}  // namespace ec::dist
