// The one attention entry point of the models. Callers describe which keys each query may see
// with an AttentionMask built once per forward pass; attention() picks the kernel:
//   CPU:  at::scaled_dot_product_attention, per packed sequence (varlen) or with a dense mask;
//   CUDA: packed sequences go to the variable-length kernels without padding (flash for
//         fp16/bf16, memory-efficient otherwise, cuDNN on request); dense masks go to SDPA.
// Layouts: q [B, Hq, Lq, D], k and v [B, Hkv, Lk, D] (Hq a multiple of Hkv: grouped-query
// attention); the result is [B, Lq, Hq, D].
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

#include "editcaption/config/visitor.h"

namespace ec::nn {

enum class AttentionBackend { Auto, Sdpa, Flash, Efficient, Cudnn };
EC_CONFIG_ENUM(AttentionBackend, {{"auto", AttentionBackend::Auto},
                                  {"sdpa", AttentionBackend::Sdpa},
                                  {"flash", AttentionBackend::Flash},
                                  {"efficient", AttentionBackend::Efficient},
                                  {"cudnn", AttentionBackend::Cudnn}})

struct AttentionMask {
  /// Causal, aligned to the bottom-right corner: query i sees keys j <= Lk - Lq + i (the
  /// convention of KV caches and of flash-attention).
  bool causal = false;
  /// [B, 1, Lq, Lk] bool, true where a query may attend a key. When defined it is the whole truth.
  at::Tensor dense;
  /// Packed sequences (B == 1, Lq == Lk): [S + 1] int32 offsets on the tensors' device, the same
  /// offsets on the host, and the longest sequence. Queries see only keys of their own sequence.
  at::Tensor cu_seqlens;
  std::vector<int64_t> offsets;
  int64_t max_seqlen = 0;

  bool varlen() const { return cu_seqlens.defined(); }
};

/// Queries see every key (vision tower without segments).
AttentionMask full_mask();
/// Plain causal attention.
AttentionMask causal_mask();
/// Causal (bottom-right) attention over keys whose validity is key_valid [B, Lk] (bool), for Lq
/// queries that are the last Lq keys: padded batches, a prompt prefix followed by an answer, a KV
/// cache followed by new tokens. A query always sees its own key, so rows of padding stay finite.
AttentionMask padded_causal_mask(const at::Tensor& key_valid, int64_t num_queries);
/// Packed sequences: cu_seqlens [S + 1] int32 (any device).
AttentionMask varlen_mask(const at::Tensor& cu_seqlens, bool causal, at::Device device);

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const AttentionMask& mask,
                     double scale, AttentionBackend backend = AttentionBackend::Auto);

/// [B, Hkv, L, D] -> [B, Hkv * groups, L, D], each key/value head serving `groups` query heads.
at::Tensor repeat_kv(const at::Tensor& x, int64_t groups);

}  // namespace ec::nn
