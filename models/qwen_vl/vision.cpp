#include "models/qwen_vl/vision.h"

#include <torch/nn/init.h>

#include <algorithm>

#include "editcaption/core/check.h"
#include "models/nn/shape.h"
#include "models/nn/activation.h"
#include "models/nn/checkpoint.h"
#include "models/qwen_vl/vision_index.h"

namespace ec::nn {
namespace {

bool qwen3(const VisionTowerOptions& o) { return o.family == ModelFamily::Qwen3VL; }
bool qwen25(const VisionTowerOptions& o) { return o.family == ModelFamily::Qwen25VL; }

NormKind block_norm(const VisionTowerOptions& o) { return qwen25(o) ? NormKind::RMSNorm : NormKind::LayerNorm; }

bool contains(const std::vector<int64_t>& v, int64_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

}  // namespace

// ---------------------------------------------------------------------------------------------

VisionAttentionImpl::VisionAttentionImpl(VisionTowerOptions o) : options(std::move(o)) { reset(); }

void VisionAttentionImpl::reset() {
  const int64_t d = options.config.hidden_size;
  qkv = register_module("qkv", Linear(LinearOptions(d, 3 * d, true)));
  proj = register_module("proj", Linear(LinearOptions(d, d, true)));
}

at::Tensor VisionAttentionImpl::forward(const at::Tensor& x, const RopeTables& rope, const AttentionMask& mask) {
  const int64_t n = x.size(0), heads = options.config.num_heads, hd = options.config.head_dim();
  auto parts = qkv(x).view({n, 3, heads, hd}).permute({1, 0, 2, 3}).unbind(0);  // 3 x [N, H, hd]
  // RoPE in float32, as transformers' apply_rotary_pos_emb_vision.
  at::Tensor cos = rope.cos.unsqueeze(-2), sin = rope.sin.unsqueeze(-2);
  at::Tensor q = apply_rope(parts[0].to(at::kFloat), cos, sin).to(x.scalar_type());
  at::Tensor k = apply_rope(parts[1].to(at::kFloat), cos, sin).to(x.scalar_type());
  auto to_bhld = [](const at::Tensor& t) { return t.transpose(0, 1).unsqueeze(0); };
  at::Tensor out = attention(to_bhld(q), to_bhld(k), to_bhld(parts[2]), mask, 1.0 / std::sqrt(static_cast<double>(hd)),
                             options.attention);
  return proj(out.reshape({n, heads * hd}));
}

// ---------------------------------------------------------------------------------------------

VisionMlpImpl::VisionMlpImpl(VisionTowerOptions o) : options(std::move(o)) { reset(); }

void VisionMlpImpl::reset() {
  const int64_t d = options.config.hidden_size, i = options.config.intermediate_size;
  if (qwen25(options)) {
    gate_proj = register_module("gate_proj", Linear(LinearOptions(d, i, true)));
    up_proj = register_module("up_proj", Linear(LinearOptions(d, i, true)));
    down_proj = register_module("down_proj", Linear(LinearOptions(i, d, true)));
  } else {
    const bool q3 = qwen3(options);
    fc1 = register_module(q3 ? "linear_fc1" : "fc1", Linear(LinearOptions(d, i, true)));
    fc2 = register_module(q3 ? "linear_fc2" : "fc2", Linear(LinearOptions(i, d, true)));
  }
}

at::Tensor VisionMlpImpl::forward(const at::Tensor& x) {
  const Activation act = options.config.hidden_act;
  if (gate_proj) return down_proj(activate(gate_proj(x), act) * up_proj(x));
  return fc2(activate(fc1(x), act));
}

// ---------------------------------------------------------------------------------------------

VisionBlockImpl::VisionBlockImpl(VisionTowerOptions o) : options(std::move(o)) { reset(); }

void VisionBlockImpl::reset() {
  const int64_t d = options.config.hidden_size;
  norm1 = register_module("norm1", Norm(NormOptions(d, block_norm(options), 1e-6)));
  norm2 = register_module("norm2", Norm(NormOptions(d, block_norm(options), 1e-6)));
  attn = register_module("attn", VisionAttention(options));
  mlp = register_module("mlp", VisionMlp(options));
}

at::Tensor VisionBlockImpl::forward(const at::Tensor& x, const RopeTables& rope, const AttentionMask& mask) {
  at::Tensor h = x + attn(norm1(x), rope, mask);
  return h + mlp(norm2(h));
}

// ---------------------------------------------------------------------------------------------

MergerMlpImpl::MergerMlpImpl(int64_t width, int64_t out) : width(width), out(out) { reset(); }

void MergerMlpImpl::reset() {
  fc1 = register_module("0", Linear(LinearOptions(width, width, true)));
  fc2 = register_module("2", Linear(LinearOptions(width, out, true)));
}

at::Tensor MergerMlpImpl::forward(const at::Tensor& x) { return fc2(at::gelu(fc1(x))); }

PatchMergerImpl::PatchMergerImpl(VisionTowerOptions o, bool postshuffle) : options(std::move(o)), postshuffle_norm(postshuffle) {
  reset();
}

void PatchMergerImpl::reset() {
  const auto& c = options.config;
  const int64_t width = c.hidden_size * c.spatial_merge_size * c.spatial_merge_size;
  if (qwen3(options)) {
    norm = register_module("norm", Norm(NormOptions(postshuffle_norm ? width : c.hidden_size, NormKind::LayerNorm, 1e-6)));
    linear_fc1 = register_module("linear_fc1", Linear(LinearOptions(width, width, true)));
    linear_fc2 = register_module("linear_fc2", Linear(LinearOptions(width, c.out_hidden_size, true)));
  } else {
    norm = register_module("ln_q", Norm(NormOptions(c.hidden_size, block_norm(options), 1e-6)));
    mlp = register_module("mlp", MergerMlp(width, c.out_hidden_size));
  }
}

at::Tensor PatchMergerImpl::forward(const at::Tensor& x) {
  const auto& c = options.config;
  const int64_t width = c.hidden_size * c.spatial_merge_size * c.spatial_merge_size;
  at::Tensor h = postshuffle_norm ? norm(x.reshape({-1, width})) : norm(x).reshape({-1, width});
  if (mlp) return mlp(h);
  return linear_fc2(at::gelu(linear_fc1(h)));
}

// ---------------------------------------------------------------------------------------------

PatchEmbedImpl::PatchEmbedImpl(VisionTowerOptions o) : options(std::move(o)) { reset(); }

void PatchEmbedImpl::reset() {
  proj = register_module("proj", Linear(LinearOptions(options.config.patch_dim(), options.config.hidden_size, qwen3(options))));
}

at::Tensor PatchEmbedImpl::forward(const at::Tensor& pixel_values) {
  EC_USER_CHECK(pixel_values.dim() == 2 && pixel_values.size(1) == options.config.patch_dim(), Input,
                "pixel_values must be [patches, {}] (C*T*P*P), got {}", options.config.patch_dim(), shape_str(pixel_values));
  return proj(pixel_values.to(proj->weight.scalar_type()));
}

// ---------------------------------------------------------------------------------------------

VisionTowerImpl::VisionTowerImpl(VisionTowerOptions o) : options(std::move(o)) { reset(); }

void VisionTowerImpl::reset() {
  const auto& c = options.config;
  patch_embed = register_module("patch_embed", PatchEmbed(options));
  if (qwen3(options)) {
    pos_embed = register_module("pos_embed", torch::nn::Embedding(c.num_position_embeddings, c.hidden_size));
  }
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.depth; ++i) blocks->push_back(VisionBlock(options));
  merger = register_module("merger", PatchMerger(options, false));
  if (qwen3(options)) {
    deepstack_merger_list = register_module("deepstack_merger_list", torch::nn::ModuleList());
    for (size_t i = 0; i < c.deepstack_visual_indexes.size(); ++i) deepstack_merger_list->push_back(PatchMerger(options, true));
  }
}

at::Tensor VisionTowerImpl::run_block(size_t i, const at::Tensor& x, const RopeTables& rope, const AttentionMask& mask) {
  auto block = blocks->ptr<VisionBlockImpl>(i);
  if (!options.activation_checkpointing || !at::GradMode::is_enabled()) return block->forward(x, rope, mask);
  return checkpoint([block, rope, mask](const torch::autograd::variable_list& in) -> torch::autograd::variable_list {
    return {block->forward(in[0], rope, mask)};
  }, {x})[0];
}

VisionOutput VisionTowerImpl::forward(const at::Tensor& pixel_values, const at::Tensor& grid_thw) {
  const auto& c = options.config;
  const models::VisionLayout layout = models::vision_layout(grid_thw, c, options.family);
  EC_USER_CHECK(pixel_values.size(0) == layout.num_patches, Input,
                "pixel_values has {} rows but image_grid_thw describes {} patches", pixel_values.size(0),
                layout.num_patches);
  const at::Device dev = patch_embed->proj->weight.device();
  at::Tensor x = patch_embed(pixel_values.to(dev));
  const int64_t n = x.size(0), unit = c.spatial_merge_size * c.spatial_merge_size;

  if (pos_embed) {
    // Bilinear resampling of the learned grid: four weighted table rows per patch, mixed in the
    // table's dtype, then added in the activations' dtype.
    const at::Tensor& table = pos_embed->weight;
    at::Tensor rows = table.index_select(0, layout.interp_index.to(dev).flatten()).view({n, 4, c.hidden_size});
    at::Tensor w = layout.interp_weight.to(dev, table.scalar_type()).unsqueeze(-1);
    x = x + (rows * w).sum(1).to(x.scalar_type());
  }

  RopeTables rope = vision_rope_tables(layout.rows_cols.to(dev), rope_inv_freq(c.head_dim() / 2, c.rope_theta, dev));
  at::Tensor window_index;
  if (qwen25(options)) {
    // Window order: whole merge groups move together, and the RoPE tables with them.
    window_index = layout.window_index.to(dev);
    auto permute = [&](const at::Tensor& t) { return t.reshape({n / unit, unit, -1}).index_select(0, window_index).reshape({n, -1}); };
    x = permute(x);
    rope = {permute(rope.cos), permute(rope.sin)};
  }
  const AttentionMask full = varlen_mask(layout.cu_seqlens, false, dev);
  const AttentionMask windows = qwen25(options) ? varlen_mask(layout.cu_window_seqlens, false, dev) : full;

  VisionOutput out;
  for (int64_t i = 0; i < c.depth; ++i) {
    const bool full_block = !qwen25(options) || contains(c.fullatt_block_indexes, i);
    x = run_block(static_cast<size_t>(i), x, rope, full_block ? full : windows);
    const auto& ds = c.deepstack_visual_indexes;
    if (qwen3(options)) {
      auto it = std::find(ds.begin(), ds.end(), i);
      if (it != ds.end()) out.deepstack.push_back(deepstack_merger_list->ptr<PatchMergerImpl>(it - ds.begin())->forward(x));
    }
  }
  out.embeds = merger(x);
  if (window_index.defined()) out.embeds = out.embeds.index_select(0, at::argsort(window_index));
  return out;
}

}  // namespace ec::nn
