// The dp x tp device mesh: pure rank arithmetic (no communication), the check that a model can be
// split tp ways, and per-rank random streams.
//
// Layout: global rank = dp_index * tp + tp_index, so the ranks of one tensor-parallel group are
// consecutive and sit on one node (tp <= GPUs per node keeps its all-reduces on NVLink).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace ec::dist {

struct MeshShape {
  int dp = 1;
  int tp = 1;
  int size() const { return dp * tp; }
  int dp_index(int rank) const { return rank / tp; }
  int tp_index(int rank) const { return rank % tp; }
  /// Global ranks of the tensor-parallel group with data-parallel index d.
  std::vector<int> tp_ranks(int d) const;
  /// Global ranks of the data-parallel group with tensor-parallel index t.
  std::vector<int> dp_ranks(int t) const;
};

/// dp and tp from the config (dp 0: world / tp) checked against the world size. Throws UserError
/// (exit code 2) naming dist.dp / dist.tp.
MeshShape resolve_mesh(int world_size, int dp, int tp);

/// Throws UserError (exit code 2) unless tp divides the attention heads, the KV heads and the MLP
/// width (intermediate size). Call it before allocating anything; `model` names the model in the
/// message.
void check_tp_divides(int tp, int64_t attention_heads, int64_t kv_heads, int64_t mlp_width,
                      std::string_view model = "the model");

/// Seed of one random stream (dropout, LoRA dropout, data order) for a rank: distinct per stream
/// and per (dp, tp) position, identical for every run with the same base seed.
uint64_t rank_seed(uint64_t base, int dp_index, int tp_index, std::string_view stream);

}  // namespace ec::dist
