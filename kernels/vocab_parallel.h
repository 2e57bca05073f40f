// Vocab-parallel (tensor-parallel) LM head for the fused losses: each rank of the tensor-parallel
// group holds rows [vocab_start, vocab_start + V_local) of the [V, D] head and the same (replicated)
// hidden states and labels. The forward pass combines the ranks' partial log-sum-exps, target logits
// and argmaxes with three small all-reduces of O(tokens) floats (MAX, SUM, MIN); the backward pass
// all-reduces the hidden-state gradient (SUM), so every rank returns the full gradient for `hidden`
// (do not put a tensor-parallel "copy" (f) operator in front of the loss) and its own rows' gradient
// for `weight`.
#pragma once

#include <ATen/Tensor.h>

#include <c10/util/intrusive_ptr.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

namespace c10d {
class Backend;
}

namespace ec::kernels {

enum class ShardReduce { Sum, Max, Min };

struct VocabShard {
  int rank = 0;
  int size = 1;
  int64_t vocab_start = 0;  ///< first global token id of this rank's weight rows
  int64_t vocab_size = 0;   ///< the global vocabulary size V
  /// In-place, blocking all-reduce over the tensor-parallel group; every rank calls it with tensors
  /// of the same shape in the same order.
  std::function<void(at::Tensor&, ShardReduce)> all_reduce;
};

/// Rows [begin, end) of rank `rank` when V rows are split evenly over `size` ranks (the first
/// V % size ranks hold one extra row).
std::pair<int64_t, int64_t> vocab_shard_range(int64_t vocab_size, int rank, int size);

/// A shard over a c10d backend (ProcessGroupGloo for CPU tensors, ProcessGroupNCCL for CUDA
/// tensors), with the even split of vocab_shard_range by the backend's rank and size.
std::shared_ptr<const VocabShard> make_vocab_shard(const c10::intrusive_ptr<c10d::Backend>& tp_group,
                                                   int64_t vocab_size);

}  // namespace ec::kernels
