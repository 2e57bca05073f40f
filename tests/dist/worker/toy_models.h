// Toy models for the distributed tests: a plain torch::nn MLP (data parallelism of "any module")
// and a Megatron-style transformer block whose attention and MLP are split tp ways with the
// operators of editcaption/dist/tp.h. Each parameter records how it is split so that the tests
// can gather full tensors from the shards.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>

#include "editcaption/dist/tp.h"

namespace ec::test {

enum class Split { Replicated, Rows, Cols };

struct ToyBlockShape {
  int64_t vocab = 10, hidden = 16, heads = 4, kv_heads = 2, head_dim = 4, mlp = 32, out = 4;
};

/// A pre-norm transformer block: embedding, RMSNorm, GQA attention (column-parallel q/k/v,
/// row-parallel o), RMSNorm, SwiGLU MLP (column-parallel gate/up, row-parallel down + bias),
/// and a replicated output head.
class ToyBlockImpl : public torch::nn::Module {
 public:
  /// Full weights from `seed`, then this rank's shards.
  ToyBlockImpl(const ToyBlockShape& shape, const dist::TpGroup* tp, uint64_t seed);
  /// [B, T] token ids -> [B, T, out].
  torch::Tensor forward(const torch::Tensor& ids);
  const std::map<std::string, Split>& splits() const { return splits_; }

 private:
  torch::Tensor add(const std::string& name, const torch::Tensor& full, Split split);
  ToyBlockShape s_;
  const dist::TpGroup* tp_;
  std::map<std::string, Split> splits_;
  torch::Tensor embed_, norm1_, q_w_, q_b_, k_w_, v_w_, o_w_, norm2_, gate_, up_, down_, down_b_, head_;
};
TORCH_MODULE(ToyBlock);

}  // namespace ec::test
