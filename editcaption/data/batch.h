// What the data pipeline hands to a model: token ids, labels, 3-D M-RoPE positions and the
// processed images of a batch, either padded ([B, L]) or packed without padding ([1, T] with
// cu_seqlens marking the sequences).
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "editcaption/data/types.h"

namespace ec::data {

/// One image after the Qwen-VL processor.
struct ProcessedImage {
  /// [t*h*w, C*T*P*P] float32 rows in merge-window order (../shared/spec/qwen_vl.md 2.2).
  at::Tensor pixel_values;
  GridThw grid_thw{1, 0, 0};
  /// Merged visual tokens this image occupies in the text: t*h*w/merge^2.
  int64_t num_tokens(int64_t merge = 2) const { return grid_thw[0] * grid_thw[1] * grid_thw[2] / (merge * merge); }
};

/// Inputs of one forward pass.
struct ModelInputs {
  /// [B, L] int64 (padded) or [1, T] (packed).
  at::Tensor input_ids;
  /// [3, B, L] int64 M-RoPE ids (temporal, height, width).
  at::Tensor position_ids;
  /// Padded batches: [B, L] bool, true for real tokens. Undefined when packed.
  at::Tensor attention_mask;
  /// Packed batches: [S + 1] int32 offsets of the S sequences in the packed row. Undefined when padded.
  at::Tensor cu_seqlens;
  int64_t max_seqlen = 0;
  /// [sum of patches, C*T*P*P] float32, images of the whole batch in order of appearance; undefined without images.
  at::Tensor pixel_values;
  /// [num_images, 3] int64.
  at::Tensor image_grid_thw;
  /// Same shape as input_ids, already shifted: labels[i] is the token the model must predict
  /// after reading position i (input_ids[i + 1] of the same sequence), or kIgnoreIndex. Only the
  /// answer tokens and the end-of-turn token carry labels, so the loss projects only those
  /// positions' hidden states to the vocabulary and never crosses a packed sequence boundary.
  at::Tensor labels;

  bool packed() const { return cu_seqlens.defined(); }
  int64_t num_tokens() const { return input_ids.numel(); }
};

}  // namespace ec::data
