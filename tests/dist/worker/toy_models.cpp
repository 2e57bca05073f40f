#include "tests/dist/worker/toy_models.h"

#include <cmath>

namespace ec::test {

ToyBlockImpl::ToyBlockImpl(const ToyBlockShape& shape, const dist::TpGroup* tp, uint64_t seed) : s_(shape), tp_(tp) {
  torch::manual_seed(seed);
  auto w = [](int64_t a, int64_t b) { return torch::randn({a, b}) / std::sqrt(static_cast<double>(b)); };
  int64_t qd = s_.heads * s_.head_dim, kvd = s_.kv_heads * s_.head_dim;
  embed_ = add("embed_weight", torch::randn({s_.vocab, s_.hidden}), Split::Replicated);
  norm1_ = add("norm1_weight", 1 + 0.1 * torch::randn({s_.hidden}), Split::Replicated);
  q_w_ = add("q_weight", w(qd, s_.hidden), Split::Rows);
  q_b_ = add("q_bias", 0.1 * torch::randn({qd}), Split::Rows);
  k_w_ = add("k_weight", w(kvd, s_.hidden), Split::Rows);
  v_w_ = add("v_weight", w(kvd, s_.hidden), Split::Rows);
  o_w_ = add("o_weight", w(s_.hidden, qd), Split::Cols);
  norm2_ = add("norm2_weight", 1 + 0.1 * torch::randn({s_.hidden}), Split::Replicated);
  gate_ = add("gate_weight", w(s_.mlp, s_.hidden), Split::Rows);
  up_ = add("up_weight", w(s_.mlp, s_.hidden), Split::Rows);
  down_ = add("down_weight", w(s_.hidden, s_.mlp), Split::Cols);
  down_b_ = add("down_bias", 0.1 * torch::randn({s_.hidden}), Split::Replicated);
  head_ = add("head_weight", w(s_.out, s_.hidden), Split::Replicated);
}

torch::Tensor ToyBlockImpl::add(const std::string& name, const torch::Tensor& full, Split split) {
  splits_[name] = split;
  torch::Tensor t = split == Split::Rows   ? dist::shard_rows(full, tp_)
                    : split == Split::Cols ? dist::shard_cols(full, tp_)
                                           : full;
  return register_parameter(name, t.clone());
}

namespace {
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& w) {
  return x * torch::rsqrt(x.pow(2).mean(-1, true) + 1e-6) * w;
}
}  // namespace

torch::Tensor ToyBlockImpl::forward(const torch::Tensor& ids) {
  const int64_t B = ids.size(0), T = ids.size(1);
  const int tp = dist::tp_size(tp_);
  const int64_t nh = s_.heads / tp, nkv = s_.kv_heads / tp, hd = s_.head_dim;
  torch::Tensor x = embed_.index_select(0, ids.reshape({-1})).view({B, T, s_.hidden});

  torch::Tensor h = dist::tp_copy(rms_norm(x, norm1_), tp_);
  auto heads = [&](const torch::Tensor& t, int64_t n) { return t.view({B, T, n, hd}).transpose(1, 2); };
  torch::Tensor q = heads(torch::nn::functional::linear(h, q_w_, q_b_), nh);
  torch::Tensor k = heads(torch::nn::functional::linear(h, k_w_), nkv).repeat_interleave(nh / nkv, 1);
  torch::Tensor v = heads(torch::nn::functional::linear(h, v_w_), nkv).repeat_interleave(nh / nkv, 1);
  torch::Tensor scores = torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(hd));
  torch::Tensor causal = torch::ones({T, T}, torch::kBool).triu(1);
  torch::Tensor att = torch::matmul(scores.masked_fill(causal, -1e9).softmax(-1), v);
  att = att.transpose(1, 2).reshape({B, T, nh * hd});
  x = x + dist::tp_reduce(torch::nn::functional::linear(att, o_w_), tp_);

  torch::Tensor h2 = dist::tp_copy(rms_norm(x, norm2_), tp_);
  torch::Tensor m = torch::silu(torch::nn::functional::linear(h2, gate_)) * torch::nn::functional::linear(h2, up_);
  x = x + dist::tp_reduce(torch::nn::functional::linear(m, down_), tp_) + down_b_;
  return torch::nn::functional::linear(x, head_);
}

}  // namespace ec::test
