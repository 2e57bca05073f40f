#include "models/qwen_vl/text.h"

#include <cmath>

#include "editcaption/core/check.h"
#include "models/nn/shape.h"
#include "models/nn/checkpoint.h"

namespace ec::nn {
namespace {

bool qwen3(const TextDecoderOptions& o) { return o.family == ModelFamily::Qwen3VL; }

}  // namespace

TextAttentionImpl::TextAttentionImpl(TextDecoderOptions o) : options(std::move(o)) { reset(); }

void TextAttentionImpl::reset() {
  const auto& c = options.config;
  const int64_t d = c.hidden_size, hd = c.resolved_head_dim();
  const int64_t tp = dist::tp_size(options.tp);
  EC_CHECK(c.num_heads % tp == 0 && c.num_kv_heads % tp == 0, "{} query / {} kv heads do not split over {} ranks",
           c.num_heads, c.num_kv_heads, tp);
  const bool bias = !qwen3(options);  // Qwen2/2.5: q/k/v bias; o_proj never has one
  q_proj = register_module("q_proj", Linear(LinearOptions(d, options.local_heads() * hd, bias)));
  k_proj = register_module("k_proj", Linear(LinearOptions(d, options.local_kv_heads() * hd, bias)));
  v_proj = register_module("v_proj", Linear(LinearOptions(d, options.local_kv_heads() * hd, bias)));
  o_proj = register_module("o_proj", Linear(LinearOptions(options.local_heads() * hd, d, false)));
  if (qwen3(options)) {
    q_norm = register_module("q_norm", Norm(NormOptions(hd, NormKind::RMSNorm, c.rms_norm_eps)));
    k_norm = register_module("k_norm", Norm(NormOptions(hd, NormKind::RMSNorm, c.rms_norm_eps)));
  }
}

LayerOutput TextAttentionImpl::forward(const at::Tensor& x, const RopeTables& rope, const AttentionMask& mask,
                                       const LayerKv& past) {
  const int64_t B = x.size(0), L = x.size(1), hd = options.config.resolved_head_dim();
  const int64_t heads = options.local_heads(), kv_heads = options.local_kv_heads();
  at::Tensor h = dist::tp_copy(x, options.tp);
  at::Tensor q = q_proj(h).view({B, L, heads, hd});
  at::Tensor k = k_proj(h).view({B, L, kv_heads, hd});
  at::Tensor v = v_proj(h).view({B, L, kv_heads, hd}).transpose(1, 2);
  if (q_norm) {
    // q_norm / k_norm are replicated but each rank applies them to its own heads only: tp_copy on
    // the weights sums their gradients over the group (every rank then holds the full gradient).
    const double eps = options.config.rms_norm_eps;
    q = rms_norm(q, dist::tp_copy(q_norm->weight, options.tp), eps);
    k = rms_norm(k, dist::tp_copy(k_norm->weight, options.tp), eps);
  }
  at::Tensor cos = rope.cos.unsqueeze(1), sin = rope.sin.unsqueeze(1);  // [B, 1, L, hd]
  q = apply_rope(q.transpose(1, 2), cos, sin);
  k = apply_rope(k.transpose(1, 2), cos, sin);
  at::Tensor keys = past.k.defined() ? at::cat({past.k, k}, 2) : k;
  at::Tensor values = past.v.defined() ? at::cat({past.v, v}, 2) : v;
  at::Tensor out = attention(q, keys, values, mask, 1.0 / std::sqrt(static_cast<double>(hd)), options.attention);
  out = o_proj(out.reshape({B, L, heads * hd}));
  return {dist::tp_reduce(out, options.tp), {k, v}};
}

// ---------------------------------------------------------------------------------------------

TextMlpImpl::TextMlpImpl(TextDecoderOptions o) : options(std::move(o)) { reset(); }

void TextMlpImpl::reset() {
  const int64_t d = options.config.hidden_size, i = options.local_intermediate();
  EC_CHECK(options.config.intermediate_size % dist::tp_size(options.tp) == 0, "MLP width does not split over ranks");
  gate_proj = register_module("gate_proj", Linear(LinearOptions(d, i, false)));
  up_proj = register_module("up_proj", Linear(LinearOptions(d, i, false)));
  down_proj = register_module("down_proj", Linear(LinearOptions(i, d, false)));
}

at::Tensor TextMlpImpl::forward(const at::Tensor& x) {
  at::Tensor h = dist::tp_copy(x, options.tp);
  return dist::tp_reduce(down_proj(at::silu(gate_proj(h)) * up_proj(h)), options.tp);
}

// ---------------------------------------------------------------------------------------------

DecoderLayerImpl::DecoderLayerImpl(TextDecoderOptions o) : options(std::move(o)) { reset(); }

void DecoderLayerImpl::reset() {
  const int64_t d = options.config.hidden_size;
  const double eps = options.config.rms_norm_eps;
  input_layernorm = register_module("input_layernorm", Norm(NormOptions(d, NormKind::RMSNorm, eps)));
  self_attn = register_module("self_attn", TextAttention(options));
  post_attention_layernorm = register_module("post_attention_layernorm", Norm(NormOptions(d, NormKind::RMSNorm, eps)));
  mlp = register_module("mlp", TextMlp(options));
}

LayerOutput DecoderLayerImpl::forward(const at::Tensor& x, const RopeTables& rope, const AttentionMask& mask,
                                      const LayerKv& past) {
  LayerOutput a = self_attn(input_layernorm(x), rope, mask, past);
  at::Tensor h = x + a.hidden;
  return {h + mlp(post_attention_layernorm(h)), a.kv};
}

// ---------------------------------------------------------------------------------------------

TextDecoderImpl::TextDecoderImpl(TextDecoderOptions o) : options(std::move(o)) { reset(); }

void TextDecoderImpl::reset() {
  const auto& c = options.config;
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(options.vocab_range().size(), c.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_layers; ++i) layers->push_back(DecoderLayer(options));
  norm = register_module("norm", Norm(NormOptions(c.hidden_size, NormKind::RMSNorm, c.rms_norm_eps)));
  inv_freq = rope_inv_freq(c.resolved_head_dim(), c.rope_theta);
  slot_axes = mrope_slot_axes(c.mrope_section, c.mrope_interleaved);
}

at::Tensor TextDecoderImpl::embed(const at::Tensor& ids) {
  if (dist::tp_size(options.tp) == 1) return embed_tokens->forward(ids);
  const dist::ShardRange r = options.vocab_range();
  at::Tensor outside = ids.lt(r.begin).logical_or(ids.ge(r.end));
  at::Tensor local = (ids - r.begin).masked_fill(outside, 0);
  at::Tensor partial = embed_tokens->forward(local).masked_fill(outside.unsqueeze(-1), 0);
  return dist::tp_reduce(partial, options.tp);
}

LayerOutput TextDecoderImpl::run_layer(int64_t i, const at::Tensor& x, const RopeTables& rope, const AttentionMask& mask,
                                       const LayerKv& past) {
  auto layer = layers->ptr<DecoderLayerImpl>(static_cast<size_t>(i));
  if (!options.activation_checkpointing || !at::GradMode::is_enabled()) return layer->forward(x, rope, mask, past);
  // The layer's keys/values are outputs too, so a recorded prefix stays differentiable; the
  // prefix a continuation reads is an input, so gradients reach the prompt.
  const bool has_past = past.k.defined();
  torch::autograd::variable_list inputs{x};
  if (has_past) inputs.insert(inputs.end(), {past.k, past.v});
  auto outs = checkpoint(
      [layer, rope, mask, has_past](const torch::autograd::variable_list& in) -> torch::autograd::variable_list {
        LayerKv p = has_past ? LayerKv{in[1], in[2]} : LayerKv{};
        LayerOutput o = layer->forward(in[0], rope, mask, p);
        return {o.hidden, o.kv.k, o.kv.v};
      },
      inputs);
  return {outs[0], {outs[1], outs[2]}};
}

at::Tensor TextDecoderImpl::forward(const DecoderRun& run) {
  at::Tensor x = run.embeds;
  const int64_t B = x.size(0), L = x.size(1), d = x.size(2);
  EC_CHECK(run.position_ids.dim() == 3 && run.position_ids.size(0) == 3 && run.position_ids.size(1) == B &&
               run.position_ids.size(2) == L,
           "position_ids must be [3, {}, {}], got {}", B, L, shape_str(run.position_ids));
  const RopeTables rope = mrope_tables(run.position_ids.to(x.device()), inv_freq.to(x.device()), slot_axes, x.scalar_type());
  EC_CHECK(run.deepstack.size() <= layers->size(), "more DeepStack features than decoder layers");
  for (int64_t i = 0; i < options.config.num_layers; ++i) {
    LayerOutput out = run_layer(i, x, rope, run.mask, run.past ? run.past(i) : LayerKv{});
    if (run.record) run.record(i, out.kv);
    x = out.hidden;
    if (static_cast<size_t>(i) < run.deepstack.size()) {
      x = x.reshape({B * L, d}).index_add(0, run.visual_positions, run.deepstack[i].to(x.scalar_type())).view({B, L, d});
    }
  }
  return norm(x);
}

}  // namespace ec::nn
