// 3-D M-RoPE position ids for whole batches, built on editcaption/data/mrope.h: each sequence's
// real tokens are numbered on their own (padding and packing do not shift them), images are
// taken from image_grid_thw in order of appearance.
#pragma once

#include <ATen/Tensor.h>

#include "editcaption/data/types.h"
#include "models/qwen_vl/config.h"

namespace ec::models {

struct BatchPositions {
  at::Tensor position_ids;   ///< [3, B, L] int64; padding positions hold 0
  at::Tensor next_position;  ///< [B] int64: the id of a token appended after each sequence (max id + 1)
};

/// The chat special-token ids the model config names (the rest keep Qwen's values).
SpecialTokenIds special_tokens(const QwenVLConfig& config);

/// Padded batch: input_ids [B, L], attention_mask [B, L] (undefined: no padding; either padding
/// side), grid_thw [num_images, 3] or undefined.
BatchPositions batch_positions(const at::Tensor& input_ids, const at::Tensor& attention_mask, const at::Tensor& grid_thw,
                               const QwenVLConfig& config);

/// Packed row: input_ids [1, T], cu_seqlens [S + 1]; next_position is per sequence ([S]).
BatchPositions packed_positions(const at::Tensor& input_ids, const at::Tensor& cu_seqlens, const at::Tensor& grid_thw,
                                const QwenVLConfig& config);

}  // namespace ec::models
