// How the Qwen-VL parameters split over tensor-parallel ranks: the one name -> sharding rule that
// random init, Hugging Face loading, `train.init` from a checkpoint, checkpoint gathering (export,
// inference) and the gradient-norm count all use, so a tp = N model always holds exactly the slices
// of the tp = 1 model with the same weights.
//
//   decoder q_proj, k_proj, v_proj (weight, bias), gate_proj, up_proj   rows    (column-parallel)
//   decoder o_proj, down_proj (weight)                                   columns (row-parallel)
//   token embedding, untied LM head (weight)                             rows    (vocab-parallel)
//   everything else (norms incl. q_norm/k_norm, vision tower and merger) replicated
//
// Rank r holds rows (or columns) [r n / N, (r + 1) n / N): heads split in order, so local query
// heads and local KV heads keep the grouped-query pairing of the full model, and the embedding /
// LM head rows are the token ids [r V / N, (r + 1) V / N) (tp_vocab_range; the vocabulary must
// divide evenly, check_tp_vocab). A tied LM head is the split embedding matrix.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>

#include <map>
#include <string>
#include <vector>

#include "editcaption/dist/tp.h"

namespace ec::models {

enum class TpSplit { Replicated, Rows, Cols };

/// The split of a parameter by its name in the model (language_model.layers.3.mlp.up_proj.weight).
/// LoRA adapter tensors are not covered (LoRA with dist.tp > 1 is refused when the model is built).
TpSplit tp_split(const std::string& name);
inline bool tp_sharded(const std::string& name) { return tp_split(name) != TpSplit::Replicated; }

/// The token ids [begin, end) whose embedding / LM-head rows rank `rank` of `size` holds: the
/// rows tp_shard keeps, and (for an even split) kernels::vocab_shard_range. `vocab_size` must be
/// divisible by `size` (check_tp_vocab).
dist::ShardRange tp_vocab_range(int64_t vocab_size, int rank, int size);

/// Refuses (UserError, Usage: exit code 2) a vocabulary that does not split evenly over `tp`
/// ranks, naming model.text.vocab_size and dist.tp. Call it before allocating the model.
void check_tp_vocab(int64_t vocab_size, int tp);

/// Rank `rank`'s part of the full tensor `full` of parameter `name` (a contiguous copy for sharded
/// parameters, `full` itself when replicated or size is 1).
at::Tensor tp_shard(const std::string& name, const at::Tensor& full, int rank, int size);

/// The full shape of parameter `name` whose rank-local shape is `local`.
std::vector<int64_t> tp_full_shape(const std::string& name, at::IntArrayRef local, int size);

/// The full tensor from every rank's part (rank order). Replicated parameters: rank 0's part.
at::Tensor tp_unshard(const std::string& name, const std::vector<at::Tensor>& parts);

/// Full tensors from per-rank named tensors (rank order; every rank holds the same names).
std::map<std::string, at::Tensor> tp_unshard_all(const std::vector<std::map<std::string, at::Tensor>>& parts);

/// Rank `rank`'s parts of full named tensors.
std::map<std::string, at::Tensor> tp_shard_all(const std::map<std::string, at::Tensor>& full, int rank, int size);

}  // namespace ec::models
