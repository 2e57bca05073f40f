// Rotary position embeddings of the Qwen-VL family (../shared/spec/qwen_vl.md 2.4, 3.4, 3.5):
//   - M-RoPE in the text model: three position axes (temporal, height, width) share the head's
//     frequency slots, either in contiguous sections (Qwen2/2.5-VL) or interleaved (Qwen3-VL);
//   - 2-D RoPE in the vision tower: half the slots rotate by the patch row, half by the column.
// Both use the rotate-half convention: x' = x cos + rotate_half(x) sin.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

namespace ec::nn {

struct RopeTables {
  at::Tensor cos;
  at::Tensor sin;
};

/// inv_freq[j] = 1 / theta^(2j / dim), j < dim / 2, float32 on `device`.
at::Tensor rope_inv_freq(int64_t dim, double theta, at::Device device = at::kCPU);

/// For each of the dim/2 frequency slots, the position axis (0 T, 1 H, 2 W) it reads.
/// Contiguous: the first sections[0] slots T, the next sections[1] H, the rest W. Interleaved
/// (Qwen3-VL): slot j is H if j % 3 == 1 and j < 3 sections[1], W if j % 3 == 2 and
/// j < 3 sections[2], T otherwise.
std::vector<int64_t> mrope_slot_axes(const std::vector<int64_t>& sections, bool interleaved);

/// M-RoPE tables for position_ids [3, B, L] (int64): cos, sin [B, L, 2 * inv_freq.size(0)],
/// computed in float32 and cast to `dtype` (as transformers does).
RopeTables mrope_tables(const at::Tensor& position_ids, const at::Tensor& inv_freq,
                        const std::vector<int64_t>& slot_axes, at::ScalarType dtype);

/// Vision tables for patch coordinates rows_cols [N, 2] (row, col): angles
/// concat(row inv_freq, col inv_freq) duplicated to the head dim; float32 [N, 4 inv_freq.size(0)].
RopeTables vision_rope_tables(const at::Tensor& rows_cols, const at::Tensor& inv_freq);

at::Tensor rotate_half(const at::Tensor& x);
/// x cos + rotate_half(x) sin, with cos/sin broadcast against x.
at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace ec::nn
