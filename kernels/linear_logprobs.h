// Fused LM head + log-softmax + gather: per-token log-probabilities of the labels,
//   logp[n] = log softmax(hidden[n] . weight^T)[labels[n]]
// without ever holding the [N, V] logits: only positions whose label is not ignored are projected,
// the vocabulary is walked in blocks with an online log-sum-exp (fp32), and the backward pass
// recomputes each block's logits from the saved per-token log-sum-exp. See docs/kernels.md.
//
// Two implementations with one meaning:
//   - the reference (chunked ATen ops; any device, the CPU path of CI), and
//   - the CUDA one (cuBLASLt bf16/fp16/fp32 GEMMs with fp32 accumulation + fused row kernels).
// Both are deterministic: no atomics, every reduction in a fixed order.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <memory>

namespace ec::kernels {

struct VocabShard;  // kernels/vocab_parallel.h

enum class LogprobImpl {
  Auto,       ///< CUDA kernels for CUDA tensors when compiled in, else the reference
  Reference,  ///< chunked ATen ops on the tensors' device
  Cuda,       ///< the CUDA kernels (error when not compiled in or tensors are not on a GPU)
};

/// Block sizes of the walk over (token chunk x vocabulary block). Zero means automatic: the
/// largest tiles whose temporaries (fp32 logits + low-precision logit gradients) fit the budget.
struct LogprobTiling {
  int64_t token_chunk = 0;
  int64_t vocab_block = 0;
  /// Budget for one tile's temporaries, in MiB (automatic tiling only).
  int64_t tile_budget_mib = 192;
};

struct LogprobOptions {
  int64_t ignore_index = -100;
  LogprobImpl impl = LogprobImpl::Auto;
  LogprobTiling tiling;
  /// Bitwise-identical results run to run. The kernels are deterministic by construction; this
  /// also pins cuBLASLt to algorithms without split-K reduction.
  bool deterministic = false;
  /// Vocab-parallel (tensor-parallel) head: `weight` holds this rank's rows of the vocabulary.
  /// Null: `weight` is the whole vocabulary.
  std::shared_ptr<const VocabShard> shard;
};

/// Per-token outputs, shaped like `labels`. Ignored positions hold 0 (false for `correct`).
struct LogprobResult {
  at::Tensor logp;       ///< fp32, differentiable: log p(label)
  at::Tensor mean_logp;  ///< fp32, differentiable: (1/V) sum_v log p(v), the label-smoothing term
  at::Tensor entropy;    ///< fp32, no gradient: -sum_v p(v) log p(v)
  at::Tensor correct;    ///< bool, no gradient: argmax (lowest id on ties) == label
  at::Tensor valid;      ///< bool: label != ignore_index
  int64_t num_valid = 0; ///< positions projected (known on the host: the compaction syncs once)
};

/// hidden [..., D] and weight [V, D] (or this rank's [V/tp, D] rows) of one floating dtype (fp32,
/// bf16 or fp16) on one device; labels [...] integer ids in [0, V) or ignore_index. Gradients flow
/// to hidden and weight through `logp` and `mean_logp` (tied embeddings: pass the embedding matrix
/// as `weight`; its gradient is the sum of both uses). Invalid labels throw UserError naming the
/// first bad position.
LogprobResult fused_linear_logprobs(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& labels,
                                    const LogprobOptions& options = {});

/// Whether the CUDA kernels were compiled into this binary.
bool cuda_kernels_available();

}  // namespace ec::kernels
