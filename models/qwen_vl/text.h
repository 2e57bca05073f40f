// The Qwen-VL language model (../shared/spec/qwen_vl.md section 3): token embedding, pre-norm
// decoder layers with grouped-query attention under M-RoPE and a SwiGLU MLP, final RMSNorm.
// Qwen2/2.5 layers have q/k/v biases; Qwen3 layers normalise each query and key head (q_norm,
// k_norm) before RoPE. Names follow transformers (model.language_model.*).
//
// Tensor parallelism (engineer `dist`): head counts and MLP width per rank come from the group
// size; ec::dist::tp_copy / tp_reduce sit at the Megatron f/g points (before the column-parallel
// q/k/v and gate/up projections, after the row-parallel o_proj and down_proj). Qwen3's q_norm and
// k_norm weights are replicated but see only local heads: their gradients are summed over the group
// too. The token embedding is vocab-parallel: each rank holds the rows of its token ids
// (tp_vocab_range), looks up the ids it owns (zeros elsewhere) and tp_reduce sums the ranks'
// partial embeddings. Which parameter is split how: tp_shard.h.
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <utility>
#include <vector>

#include "editcaption/dist/tp.h"
#include "models/nn/attention.h"
#include "models/nn/linear.h"
#include "models/nn/norm.h"
#include "models/nn/rotary.h"
#include "models/qwen_vl/config.h"
#include "models/qwen_vl/tp_shard.h"

namespace ec::nn {

struct TextDecoderOptions {
  TextDecoderOptions(models::QwenTextConfig config, ModelFamily family) : config(std::move(config)), family(family) {}
  models::QwenTextConfig config;
  ModelFamily family;
  AttentionBackend attention = AttentionBackend::Auto;
  bool activation_checkpointing = false;
  /// Tensor-parallel group (nullptr: none). Not owned.
  const dist::TpGroup* tp = nullptr;

  int64_t local_heads() const { return config.num_heads / dist::tp_size(tp); }
  int64_t local_kv_heads() const { return config.num_kv_heads / dist::tp_size(tp); }
  int64_t local_intermediate() const { return config.intermediate_size / dist::tp_size(tp); }
  /// The token ids whose embedding (and LM-head) rows this rank holds: [0, vocab) without a group.
  dist::ShardRange vocab_range() const {
    return models::tp_vocab_range(config.vocab_size, dist::tp_rank(tp), dist::tp_size(tp));
  }
};

/// One layer's keys and values for the tokens of this pass: [B, Hkv, L, head_dim], after k_norm
/// and RoPE (what a KV cache stores).
struct LayerKv {
  at::Tensor k;
  at::Tensor v;
};

struct LayerOutput {
  at::Tensor hidden;
  LayerKv kv;
};

class TextAttentionImpl : public torch::nn::Cloneable<TextAttentionImpl> {
 public:
  explicit TextAttentionImpl(TextDecoderOptions options);
  void reset() override;
  /// x [B, L, d], rope tables [B, L, head_dim]. `past` (optional) holds keys/values this pass's
  /// queries see before their own ([B, Hkv, Lp, hd], same rows as x); `mask` covers Lp + L keys.
  LayerOutput forward(const at::Tensor& x, const RopeTables& rope, const AttentionMask& mask, const LayerKv& past);

  TextDecoderOptions options;
  Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  Norm q_norm{nullptr}, k_norm{nullptr};  ///< Qwen3
};
TORCH_MODULE(TextAttention);

class TextMlpImpl : public torch::nn::Cloneable<TextMlpImpl> {
 public:
  explicit TextMlpImpl(TextDecoderOptions options);
  void reset() override;
  at::Tensor forward(const at::Tensor& x);

  TextDecoderOptions options;
  Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(TextMlp);

class DecoderLayerImpl : public torch::nn::Cloneable<DecoderLayerImpl> {
 public:
  explicit DecoderLayerImpl(TextDecoderOptions options);
  void reset() override;
  LayerOutput forward(const at::Tensor& x, const RopeTables& rope, const AttentionMask& mask, const LayerKv& past);

  TextDecoderOptions options;
  Norm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  TextAttention self_attn{nullptr};
  TextMlp mlp{nullptr};
};
TORCH_MODULE(DecoderLayer);

/// Everything one pass through the decoder needs besides the weights.
struct DecoderRun {
  at::Tensor embeds;        ///< [B, L, d] input embeddings (visual features already spliced in)
  at::Tensor position_ids;  ///< [3, B, L] int64 M-RoPE ids
  AttentionMask mask;
  /// DeepStack (Qwen3-VL): flat indices into B*L of the visual tokens, and one feature tensor
  /// [num visual tokens, d] per early layer, added after that layer.
  at::Tensor visual_positions;
  std::vector<at::Tensor> deepstack;
  /// Keys/values each layer sees before this pass's tokens (prefix sharing, KV cache); empty
  /// function: none.
  std::function<LayerKv(int64_t layer)> past;
  /// Receives each layer's new keys/values (recording a prefix, filling a cache); may be empty.
  std::function<void(int64_t layer, const LayerKv& kv)> record;
};

class TextDecoderImpl : public torch::nn::Cloneable<TextDecoderImpl> {
 public:
  explicit TextDecoderImpl(TextDecoderOptions options);
  void reset() override;
  /// Final-norm hidden states [B, L, d].
  at::Tensor forward(const DecoderRun& run);
  /// Token embeddings [..., d] of global ids [...] in [0, vocab). With a tensor-parallel group:
  /// this rank's rows for the ids it holds, zeros for the others, summed over the group.
  at::Tensor embed(const at::Tensor& ids);

  TextDecoderOptions options;
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  Norm norm{nullptr};
  /// Float32 inverse frequencies of the rotary embedding (not a parameter, not saved).
  at::Tensor inv_freq;
  std::vector<int64_t> slot_axes;

 private:
  LayerOutput run_layer(int64_t i, const at::Tensor& x, const RopeTables& rope, const AttentionMask& mask,
                        const LayerKv& past);
};
TORCH_MODULE(TextDecoder);

}  // namespace ec::nn
