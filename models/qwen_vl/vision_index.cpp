#include "models/qwen_vl/vision_index.h"

#include <ATen/ATen.h>

#include <cmath>
#include <vector>

#include "editcaption/core/check.h"
#include "models/nn/shape.h"

namespace ec::models {
namespace {

at::Tensor long_tensor(const std::vector<int64_t>& v, std::vector<int64_t> shape) {
  return at::tensor(v, at::kLong).view(shape);
}

at::Tensor int_offsets(const std::vector<int64_t>& v) { return at::tensor(v, at::kLong).to(at::kInt); }

// Bilinear taps along one axis with align_corners = true: position i of n maps to
// i * (side - 1) / max(n - 1, 1) on the table's axis. Float32 arithmetic in transformers' order.
void axis_taps(int64_t i, int64_t n, int64_t side, int64_t taps[2], float weights[2]) {
  const float src = (static_cast<float>(i) * static_cast<float>(side - 1)) / static_cast<float>(std::max<int64_t>(n - 1, 1));
  const float fl = std::floor(src);
  for (int o = 0; o < 2; ++o) {
    taps[o] = std::clamp<int64_t>(static_cast<int64_t>(fl) + o, 0, side - 1);
    const float dist = std::fabs(src - fl - static_cast<float>(o));
    weights[o] = std::max(1.0f - dist, 0.0f);
  }
}

}  // namespace

VisionLayout vision_layout(const at::Tensor& grid_thw, const QwenVisionConfig& c, ModelFamily family) {
  EC_USER_CHECK(grid_thw.dim() == 2 && grid_thw.size(1) == 3, Input, "image_grid_thw must be [num_images, 3], got {}",
                nn::shape_str(grid_thw));
  at::Tensor grids = grid_thw.to(at::kCPU, at::kLong).contiguous();
  const int64_t n_images = grids.size(0);
  const int64_t* g = grids.data_ptr<int64_t>();
  const int64_t m = c.spatial_merge_size;

  std::vector<int64_t> rows_cols, cu{0}, window_index, cu_window{0};
  std::vector<int64_t> interp_index;
  std::vector<float> interp_weight;
  const int64_t side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(c.num_position_embeddings))));
  const int64_t ws = c.window_size / m / c.patch_size;  // window side in merged units
  int64_t merged_offset = 0;

  for (int64_t img = 0; img < n_images; ++img) {
    const int64_t t = g[3 * img], h = g[3 * img + 1], w = g[3 * img + 2];
    EC_USER_CHECK(t >= 1 && h >= 1 && w >= 1 && h % m == 0 && w % m == 0, Input,
                  "image {}: grid (t {}, h {}, w {}) must be positive with h and w multiples of {}", img, t, h, w, m);
    // Patch coordinates in merge-window order: block row, block column, row in block, column.
    for (int64_t ti = 0; ti < t; ++ti) {
      for (int64_t br = 0; br < h / m; ++br) {
        for (int64_t bc = 0; bc < w / m; ++bc) {
          for (int64_t ir = 0; ir < m; ++ir) {
            for (int64_t ic = 0; ic < m; ++ic) {
              const int64_t row = br * m + ir, col = bc * m + ic;
              rows_cols.push_back(row);
              rows_cols.push_back(col);
              if (family == ModelFamily::Qwen3VL) {
                int64_t ht[2], wt[2];
                float hw[2], ww[2];
                axis_taps(row, h, side, ht, hw);
                axis_taps(col, w, side, wt, ww);
                for (int a = 0; a < 2; ++a) {
                  for (int b = 0; b < 2; ++b) {
                    interp_index.push_back(ht[a] * side + wt[b]);
                    interp_weight.push_back(hw[a] * ww[b]);
                  }
                }
              }
            }
          }
        }
      }
      cu.push_back(cu.back() + h * w);
    }
    if (family == ModelFamily::Qwen25VL) {
      // Pad the merged grid to whole windows (a full empty window when already a multiple, as
      // transformers does), walk windows row-major, keep the real units.
      const int64_t gh = h / m, gw = w / m;
      const int64_t ph = gh + (ws - gh % ws), pw = gw + (ws - gw % ws);
      for (int64_t ti = 0; ti < t; ++ti) {
        for (int64_t wr = 0; wr < ph / ws; ++wr) {
          for (int64_t wc = 0; wc < pw / ws; ++wc) {
            int64_t count = 0;
            for (int64_t r = wr * ws; r < (wr + 1) * ws; ++r) {
              for (int64_t col = wc * ws; col < (wc + 1) * ws; ++col) {
                if (r < gh && col < gw) {
                  window_index.push_back(merged_offset + ti * gh * gw + r * gw + col);
                  ++count;
                }
              }
            }
            if (count > 0) cu_window.push_back(cu_window.back() + count * m * m);
          }
        }
      }
    }
    merged_offset += t * (h / m) * (w / m);
  }

  VisionLayout out;
  out.num_patches = cu.back();
  out.rows_cols = long_tensor(rows_cols, {out.num_patches, 2});
  out.cu_seqlens = int_offsets(cu);
  if (family == ModelFamily::Qwen25VL) {
    out.window_index = at::tensor(window_index, at::kLong);
    out.cu_window_seqlens = int_offsets(cu_window);
  }
  if (family == ModelFamily::Qwen3VL) {
    out.interp_index = long_tensor(interp_index, {out.num_patches, 4});
    out.interp_weight = at::tensor(interp_weight, at::kFloat).view({out.num_patches, 4});
  }
  return out;
}

}  // namespace ec::models
