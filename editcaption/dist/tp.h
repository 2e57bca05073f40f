// The Megatron-style tensor-parallel operators the model code calls. With no tensor-parallel
// group (nullptr, or a group of size 1) they are the identity, so single-process models run the
// same code path. They are autograd functions: use them inside the model's forward.
//
//   column-parallel linear (q/k/v, gate/up):  y_r = tp_copy(x) @ W_r^T      (W split by rows)
//   row-parallel linear (o_proj, down_proj):  y   = tp_reduce(x_r @ W_r^T)  (W split by columns)
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

namespace ec::dist {

/// A tensor-parallel process group (editcaption/dist/tp_group.h).
class TpGroup;

/// "f": identity in the forward pass, all-reduce of the gradient in the backward pass. Goes in
/// front of column-parallel layers (q/k/v, gate/up) whose input is replicated.
at::Tensor tp_copy(const at::Tensor& x, const TpGroup* tp);
/// "g": all-reduce (sum) in the forward pass, identity in the backward pass. Goes after
/// row-parallel layers (o_proj, down_proj) whose outputs are partial sums.
at::Tensor tp_reduce(const at::Tensor& x, const TpGroup* tp);
/// All-gather along the last dimension (each rank holds a slice of width n, the result has width
/// tp * n, rank order); the backward pass keeps this rank's slice of the gradient.
at::Tensor tp_gather_last(const at::Tensor& x, const TpGroup* tp);
/// This rank's slice of the last dimension; the backward pass all-gathers the gradient.
at::Tensor tp_split_last(const at::Tensor& x, const TpGroup* tp);
/// Size and rank of the group (1 and 0 without one).
int tp_size(const TpGroup* tp);
int tp_rank(const TpGroup* tp);

// ---- Sharding a full checkpoint tensor for rank r of `size` (no communication) -------------

struct ShardRange {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};
/// [r * n / size, (r + 1) * n / size); n must be divisible by size (EC_CHECK).
ShardRange shard_range(int64_t n, int rank, int size);
/// Column-parallel weight [out, in] (or bias [out]): this rank's rows.
at::Tensor shard_rows(const at::Tensor& w, int rank, int size);
/// Row-parallel weight [out, in]: this rank's columns.
at::Tensor shard_cols(const at::Tensor& w, int rank, int size);
/// Rows of a fused weight whose rows are consecutive parts (e.g. q|k|v or gate|up, sizes
/// `parts`): each part is split on its own and this rank's pieces are concatenated.
at::Tensor shard_rows_fused(const at::Tensor& w, const std::vector<int64_t>& parts, int rank, int size);
/// The same with a group (nullptr: the whole tensor).
at::Tensor shard_rows(const at::Tensor& w, const TpGroup* tp);
at::Tensor shard_cols(const at::Tensor& w, const TpGroup* tp);

}  // namespace ec::dist
