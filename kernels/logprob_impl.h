// Internal interface of fused_linear_logprobs: the per-row statistics both implementations
// produce, and the forward/backward entry points of the reference (ATen) and CUDA implementations.
// Every tensor here is compacted: row m is the m-th position whose label is not ignored.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

#include "kernels/linear_logprobs.h"

namespace ec::kernels::detail {

struct Tile {
  int64_t tokens = 1;
  int64_t vocab = 1;
};

/// Resolves automatic tiling for `rows` tokens over `vocab_rows` weight rows; `bytes_per_elem` is
/// the temporaries' cost per tile element (fp32 logits plus the logit gradient).
Tile resolve_tile(const LogprobTiling& tiling, int64_t rows, int64_t vocab_rows, int64_t bytes_per_elem);

/// Online-softmax statistics of each row over the `count` vocabulary columns seen so far, fp32 [M]
/// (argmax int64 [M]). Kept relative to the running max so that logits of magnitude 1e4 lose no
/// precision:
///   max = max_v z_v, sumexp = sum_v exp(z_v - max), ent = sum_v exp(z_v - max) (z_v - max),
///   rel_sum = sum_v (z_v - max), target = z_label (0 when the label is not among the columns),
///   argmax = lowest global id reaching max.
struct RowStats {
  at::Tensor max, sumexp, ent, rel_sum, target, argmax;
  int64_t count = 0;
};

/// Folds `block` (columns after those of `acc`) into `acc`; ties keep acc's (lower) argmax.
void merge_stats(RowStats& acc, const RowStats& block);

struct ForwardArgs {
  at::Tensor x;  ///< [M, D] compacted hidden states
  at::Tensor w;  ///< [V_local, D]
  at::Tensor y;  ///< [M] int64 global label ids
  int64_t vocab_start = 0;
  Tile tile;
  bool deterministic = false;
};

struct BackwardArgs {
  at::Tensor x, w, y;
  at::Tensor lse;     ///< [M] fp32, global log-sum-exp
  at::Tensor g_logp;  ///< [M] fp32 upstream gradient of logp
  at::Tensor g_mean;  ///< [M] fp32 upstream gradient of mean_logp, or undefined
  int64_t vocab_start = 0;
  int64_t vocab_size = 0;  ///< global V (the mean over the vocabulary)
  Tile tile;
  bool need_dx = true;
  bool need_dw = true;
  bool deterministic = false;
};

struct Grads {
  at::Tensor dx;  ///< fp32 [M, D], this rank's partial sum over its vocabulary rows
  at::Tensor dw;  ///< [V_local, D] in the weight's dtype
};

RowStats forward_reference(const ForwardArgs& args);
Grads backward_reference(const BackwardArgs& args);

/// CUDA implementation (kernels/linear_logprobs_cuda.cpp); throws when not compiled in.
RowStats forward_cuda(const ForwardArgs& args);
Grads backward_cuda(const BackwardArgs& args);

/// Vocab-parallel: turns each rank's statistics into the global ones (identical on every rank).
void combine_across_shards(RowStats& stats, const VocabShard& shard);
/// Vocab-parallel: sums the ranks' partial hidden-state gradients in place.
void reduce_across_shards(at::Tensor& dx, const VocabShard& shard);

}  // namespace ec::kernels::detail
