// What the vision tower derives from the image grids alone (no weights), computed once per
// forward on the host like transformers' vision_utils.py:
//   - each patch's (row, col) in the processor's merge-window order (2-D RoPE);
//   - attention segments: one per temporal group of each image;
//   - Qwen2.5-VL windows: the permutation of merged units into window order and the windows'
//     segments (../shared/spec/qwen_vl.md 2.7);
//   - Qwen3-VL: bilinear taps into the learned position grid (2.9).
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>

#include "editcaption/data/types.h"
#include "models/qwen_vl/config.h"

namespace ec::models {

struct VisionLayout {
  at::Tensor rows_cols;          ///< [N, 2] int64 patch row and column
  at::Tensor cu_seqlens;         ///< [S + 1] int32, segments of h*w patches per temporal group
  at::Tensor window_index;       ///< Qwen2.5-VL: [N / merge^2] int64, merged units in window order
  at::Tensor cu_window_seqlens;  ///< Qwen2.5-VL: [W + 1] int32 window segments (patches), no empty ones
  at::Tensor interp_index;       ///< Qwen3-VL: [N, 4] int64 rows of the position table
  at::Tensor interp_weight;      ///< Qwen3-VL: [N, 4] float32 bilinear weights
  int64_t num_patches = 0;
};

/// grid_thw: [num_images, 3] int64 (t, h, w in patches; h and w multiples of the merge size).
/// Throws UserError(Input) for grids the tower cannot take.
VisionLayout vision_layout(const at::Tensor& grid_thw, const QwenVisionConfig& config, ModelFamily family);

}  // namespace ec::models
