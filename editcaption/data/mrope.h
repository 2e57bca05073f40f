// 3-D M-RoPE position ids for a token sequence with images (Hugging Face `get_rope_index`,
// ../shared/spec/qwen_vl.md section 3.6): text tokens count up on all three axes; the merged
// visual tokens of an image get (s + t, s + row, s + col) in raster order, and counting resumes
// after the image at one past the largest id it used.
#pragma once

#include <ATen/Tensor.h>

#include <span>
#include <vector>

#include "editcaption/data/types.h"

namespace ec::data {

struct MropePositions {
  /// [3, L] int64: temporal, height, width ids.
  at::Tensor ids;
  /// (max id + 1) - L: added to the cache position for tokens generated after this sequence.
  int64_t rope_delta = 0;
};

/// `grids` are the images in order of appearance, in patches; each image's span of
/// t*h*w/merge^2 image-pad tokens must follow a vision-start token. `start` offsets every id
/// (continuing a prefix: answers of a DPO pair continue their shared prompt's positions).
/// Throws InternalError if the pad tokens and the grids disagree.
MropePositions mrope_positions(std::span<const int32_t> input_ids, std::span<const GridThw> grids,
                               const SpecialTokenIds& special, int64_t spatial_merge = 2, int64_t start = 0);

/// Plain text continuing from `start`: ids start, start+1, ... on all three axes ([3, n]).
at::Tensor text_positions(int64_t n, int64_t start = 0);

}  // namespace ec::data
