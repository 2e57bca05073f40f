#include "models/nn/rotary.h"

#include <ATen/ATen.h>

#include <numeric>

#include "editcaption/core/check.h"

namespace ec::nn {

at::Tensor rope_inv_freq(int64_t dim, double theta, at::Device device) {
  EC_CHECK(dim > 0 && dim % 2 == 0, "rotary dim must be even, got {}", dim);
  // Same expression as transformers: 1 / (theta ** (arange(0, dim, 2) / dim)) in float32.
  at::Tensor exponent = at::arange(0, dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(dim);
  return (1.0 / at::pow(theta, exponent)).to(device);
}

std::vector<int64_t> mrope_slot_axes(const std::vector<int64_t>& sections, bool interleaved) {
  EC_CHECK(sections.size() == 3, "mrope_section needs 3 entries, got {}", sections.size());
  const int64_t slots = std::accumulate(sections.begin(), sections.end(), int64_t{0});
  std::vector<int64_t> axes(static_cast<size_t>(slots), 0);
  for (int64_t j = 0; j < slots; ++j) {
    if (interleaved) {
      if (j % 3 == 1 && j < 3 * sections[1]) axes[j] = 1;
      else if (j % 3 == 2 && j < 3 * sections[2]) axes[j] = 2;
    } else {
      axes[j] = j < sections[0] ? 0 : (j < sections[0] + sections[1] ? 1 : 2);
    }
  }
  return axes;
}

RopeTables mrope_tables(const at::Tensor& position_ids, const at::Tensor& inv_freq,
                        const std::vector<int64_t>& slot_axes, at::ScalarType dtype) {
  EC_CHECK(position_ids.dim() == 3 && position_ids.size(0) == 3, "position_ids must be [3, B, L]");
  EC_CHECK(static_cast<int64_t>(slot_axes.size()) == inv_freq.size(0), "mrope sections cover {} slots, head has {}",
           slot_axes.size(), inv_freq.size(0));
  const int64_t B = position_ids.size(1), L = position_ids.size(2), half = inv_freq.size(0);
  // [3, B, L, half]: every axis's angle for every slot, then each slot picks its axis.
  at::Tensor freqs = position_ids.to(at::kFloat).unsqueeze(-1) * inv_freq.to(at::kFloat);
  at::Tensor axes = at::tensor(slot_axes, at::kLong).to(position_ids.device());
  at::Tensor pick = axes.view({1, 1, 1, half}).expand({1, B, L, half});
  at::Tensor angles = freqs.gather(0, pick).squeeze(0);
  angles = at::cat({angles, angles}, -1);
  return {angles.cos().to(dtype), angles.sin().to(dtype)};
}

RopeTables vision_rope_tables(const at::Tensor& rows_cols, const at::Tensor& inv_freq) {
  at::Tensor freqs = rows_cols.to(at::kFloat).unsqueeze(-1) * inv_freq.to(at::kFloat);  // [N, 2, r]
  at::Tensor hw = at::cat({freqs.select(1, 0), freqs.select(1, 1)}, -1);
  at::Tensor angles = at::cat({hw, hw}, -1);
  return {angles.cos(), angles.sin()};
}

at::Tensor rotate_half(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  return x * cos + rotate_half(x) * sin;
}

}  // namespace ec::nn
