#include "editcaption/data/mrope.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "editcaption/core/check.h"

namespace ec::data {

MropePositions mrope_positions(std::span<const int32_t> ids, std::span<const GridThw> grids,
                               const SpecialTokenIds& special, int64_t merge, int64_t start) {
  const int64_t n = static_cast<int64_t>(ids.size());
  at::Tensor out = at::empty({3, n}, at::kLong);
  auto pos = out.accessor<int64_t, 2>();
  int64_t next = start;
  int64_t max_id = start - 1;
  size_t image = 0;
  int64_t i = 0;
  while (i < n) {
    bool image_follows = ids[i] == special.image_pad && i > 0 && ids[i - 1] == special.vision_start;
    if (!image_follows) {
      EC_CHECK(ids[i] != special.image_pad, "image-pad token at {} does not follow a vision-start token", i);
      for (int a = 0; a < 3; ++a) pos[a][i] = next;
      max_id = std::max(max_id, next);
      ++next;
      ++i;
      continue;
    }
    EC_CHECK(image < grids.size(), "more image spans than image grids ({})", grids.size());
    const GridThw& g = grids[image++];
    const int64_t t = g[0], h = g[1] / merge, w = g[2] / merge;
    const int64_t count = t * h * w;
    EC_CHECK(i + count <= n, "image {} needs {} pad tokens but the sequence ends after {}", image - 1, count, n - i);
    int64_t top = next;
    for (int64_t k = 0; k < count; ++k) {
      EC_CHECK(ids[i + k] == special.image_pad, "image {} has {} pad tokens, expected {}", image - 1, k, count);
      int64_t ti = k / (h * w), r = (k / w) % h, c = k % w;
      pos[0][i + k] = next + ti;
      pos[1][i + k] = next + r;
      pos[2][i + k] = next + c;
      top = std::max({top, next + ti, next + r, next + c});
    }
    EC_CHECK(i + count == n || ids[i + count] != special.image_pad, "image {} has more pad tokens than its grid", image - 1);
    max_id = std::max(max_id, top);
    next = top + 1;
    i += count;
  }
  EC_CHECK(image == grids.size(), "{} image grids given but {} image spans found", grids.size(), image);
  return {out, max_id + 1 - (start + n)};
}

at::Tensor text_positions(int64_t n, int64_t start) {
  return at::arange(start, start + n, at::kLong).unsqueeze(0).expand({3, n}).contiguous();
}

}  // namespace ec::data
