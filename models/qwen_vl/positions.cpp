#include "models/qwen_vl/positions.h"

#include <ATen/ATen.h>

#include <vector>

#include "editcaption/core/check.h"
#include "models/nn/shape.h"
#include "editcaption/data/mrope.h"

namespace ec::models {
namespace {

std::vector<GridThw> all_grids(const at::Tensor& grid_thw) {
  std::vector<GridThw> out;
  if (!grid_thw.defined()) return out;
  at::Tensor g = grid_thw.to(at::kCPU, at::kLong).contiguous();
  for (int64_t i = 0; i < g.size(0); ++i) out.push_back({g[i][0].item<int64_t>(), g[i][1].item<int64_t>(), g[i][2].item<int64_t>()});
  return out;
}

int64_t count_images(const std::vector<int32_t>& ids, const SpecialTokenIds& sp) {
  int64_t n = 0;
  for (size_t i = 1; i < ids.size(); ++i) n += ids[i] == sp.image_pad && ids[i - 1] == sp.vision_start;
  return n;
}

// Numbers one sequence, taking its images from `grids` starting at *next_image.
data::MropePositions number(const std::vector<int32_t>& ids, const std::vector<GridThw>& grids, size_t* next_image,
                            const SpecialTokenIds& sp, int64_t merge, int64_t row) {
  const auto n = static_cast<size_t>(count_images(ids, sp));
  EC_USER_CHECK(*next_image + n <= grids.size(), Input, "sequence {} holds images beyond the {} grids given", row, grids.size());
  std::span<const GridThw> mine(grids.data() + *next_image, n);
  *next_image += n;
  try {
    return data::mrope_positions(ids, mine, sp, merge);
  } catch (const InternalError& e) {
    throw EC_USER_ERROR(Input, "sequence {}: image tokens do not match image_grid_thw: {}", row, e.what());
  }
}

}  // namespace

SpecialTokenIds special_tokens(const QwenVLConfig& c) {
  SpecialTokenIds sp;
  sp.image_pad = static_cast<int32_t>(c.image_token_id);
  sp.video_pad = static_cast<int32_t>(c.video_token_id);
  sp.vision_start = static_cast<int32_t>(c.vision_start_token_id);
  sp.vision_end = static_cast<int32_t>(c.vision_end_token_id);
  return sp;
}

BatchPositions batch_positions(const at::Tensor& input_ids, const at::Tensor& attention_mask, const at::Tensor& grid_thw,
                               const QwenVLConfig& c) {
  EC_USER_CHECK(input_ids.dim() == 2, Input, "input_ids must be [B, L], got {}", nn::shape_str(input_ids));
  const int64_t B = input_ids.size(0), L = input_ids.size(1);
  at::Tensor ids = input_ids.to(at::kCPU, at::kInt).contiguous();
  at::Tensor mask = attention_mask.defined() ? attention_mask.to(at::kCPU, at::kBool).contiguous()
                                             : at::ones({B, L}, at::kBool);
  const auto grids = all_grids(grid_thw);
  const SpecialTokenIds sp = special_tokens(c);
  at::Tensor pos = at::zeros({3, B, L}, at::kLong);
  at::Tensor next = at::zeros({B}, at::kLong);
  auto ida = ids.accessor<int32_t, 2>();
  auto ma = mask.accessor<bool, 2>();
  size_t image = 0;
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int32_t> row;
    std::vector<int64_t> where;
    for (int64_t i = 0; i < L; ++i) {
      if (ma[b][i]) {
        row.push_back(ida[b][i]);
        where.push_back(i);
      }
    }
    if (row.empty()) continue;
    auto p = number(row, grids, &image, sp, c.vision.spatial_merge_size, b);
    at::Tensor idx = at::tensor(where, at::kLong);
    pos.select(1, b).index_copy_(1, idx, p.ids);
    next[b] = p.ids.max().item<int64_t>() + 1;
  }
  EC_USER_CHECK(image == grids.size(), Input, "image_grid_thw lists {} images but the tokens hold {}", grids.size(), image);
  return {pos.to(input_ids.device()), next.to(input_ids.device())};
}

BatchPositions packed_positions(const at::Tensor& input_ids, const at::Tensor& cu_seqlens, const at::Tensor& grid_thw,
                                const QwenVLConfig& c) {
  EC_USER_CHECK(input_ids.dim() == 2 && input_ids.size(0) == 1, Input, "packed input_ids must be [1, T], got {}",
                nn::shape_str(input_ids));
  at::Tensor ids = input_ids.to(at::kCPU, at::kInt).contiguous();
  at::Tensor cu = cu_seqlens.to(at::kCPU, at::kLong).contiguous();
  const int64_t S = cu.numel() - 1, T = ids.size(1);
  EC_USER_CHECK(S >= 1 && cu[S].item<int64_t>() == T, Input, "cu_seqlens must end at the packed length {}", T);
  const auto grids = all_grids(grid_thw);
  const SpecialTokenIds sp = special_tokens(c);
  at::Tensor pos = at::zeros({3, 1, T}, at::kLong);
  at::Tensor next = at::zeros({S}, at::kLong);
  const int32_t* data = ids.data_ptr<int32_t>();
  size_t image = 0;
  for (int64_t s = 0; s < S; ++s) {
    const int64_t b = cu[s].item<int64_t>(), e = cu[s + 1].item<int64_t>();
    if (e == b) continue;
    std::vector<int32_t> row(data + b, data + e);
    auto p = number(row, grids, &image, sp, c.vision.spatial_merge_size, s);
    pos.select(1, 0).narrow(1, b, e - b).copy_(p.ids);
    next[s] = p.ids.max().item<int64_t>() + 1;
  }
  EC_USER_CHECK(image == grids.size(), Input, "image_grid_thw lists {} images but the tokens hold {}", grids.size(), image);
  return {pos.to(input_ids.device()), next.to(input_ids.device())};
}

}  // namespace ec::models
