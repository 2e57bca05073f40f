// The Qwen-VL vision tower (../shared/spec/qwen_vl.md section 2): patch embedding as a linear
// layer, blocks with 2-D RoPE attending within each image (or within windows: Qwen2.5-VL),
// Qwen3-VL's learned position grid and DeepStack mergers, and the patch merger that turns each
// 2x2 group of patches into one LLM token. Module and parameter names follow transformers
// (model.visual.*), so checkpoints map by prefix.
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "models/nn/attention.h"
#include "models/nn/linear.h"
#include "models/nn/norm.h"
#include "models/nn/rotary.h"
#include "models/qwen_vl/config.h"

namespace ec::nn {

struct VisionTowerOptions {
  VisionTowerOptions(models::QwenVisionConfig config, ModelFamily family) : config(std::move(config)), family(family) {}
  models::QwenVisionConfig config;
  ModelFamily family;
  AttentionBackend attention = AttentionBackend::Auto;
  /// Recompute each block in the backward pass.
  bool activation_checkpointing = false;
};

class VisionAttentionImpl : public torch::nn::Cloneable<VisionAttentionImpl> {
 public:
  explicit VisionAttentionImpl(VisionTowerOptions options);
  void reset() override;
  /// x [N, D]; rope tables [N, head_dim] float32.
  at::Tensor forward(const at::Tensor& x, const RopeTables& rope, const AttentionMask& mask);

  VisionTowerOptions options;
  Linear qkv{nullptr};
  Linear proj{nullptr};
};
TORCH_MODULE(VisionAttention);

/// fc1/fc2 (Qwen2-VL), gated gate/up/down with bias (Qwen2.5-VL), linear_fc1/linear_fc2 (Qwen3-VL).
class VisionMlpImpl : public torch::nn::Cloneable<VisionMlpImpl> {
 public:
  explicit VisionMlpImpl(VisionTowerOptions options);
  void reset() override;
  at::Tensor forward(const at::Tensor& x);

  VisionTowerOptions options;
  Linear fc1{nullptr}, fc2{nullptr};                      // ungated
  Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};  // gated
};
TORCH_MODULE(VisionMlp);

class VisionBlockImpl : public torch::nn::Cloneable<VisionBlockImpl> {
 public:
  explicit VisionBlockImpl(VisionTowerOptions options);
  void reset() override;
  at::Tensor forward(const at::Tensor& x, const RopeTables& rope, const AttentionMask& mask);

  VisionTowerOptions options;
  Norm norm1{nullptr}, norm2{nullptr};
  VisionAttention attn{nullptr};
  VisionMlp mlp{nullptr};
};
TORCH_MODULE(VisionBlock);

/// The two linear layers of the Qwen2/2.5-VL merger, registered as "0" and "2" like the
/// torch.nn.Sequential they replace (mlp.0, mlp.2 in checkpoints).
class MergerMlpImpl : public torch::nn::Cloneable<MergerMlpImpl> {
 public:
  MergerMlpImpl(int64_t width, int64_t out);
  void reset() override;
  at::Tensor forward(const at::Tensor& x);

  int64_t width, out;
  Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(MergerMlp);

/// Norm, concatenation of each group of merge^2 consecutive patches, Linear -> GELU -> Linear.
/// Qwen2/2.5-VL: `ln_q` then `mlp.0`/`mlp.2`; Qwen3-VL: `norm`, `linear_fc1`, `linear_fc2`, with the
/// norm over the concatenated width for the DeepStack mergers (post-shuffle).
class PatchMergerImpl : public torch::nn::Cloneable<PatchMergerImpl> {
 public:
  PatchMergerImpl(VisionTowerOptions options, bool postshuffle_norm);
  void reset() override;
  /// x [N, D] -> [N / merge^2, out_hidden_size]
  at::Tensor forward(const at::Tensor& x);

  VisionTowerOptions options;
  bool postshuffle_norm;
  Norm norm{nullptr};
  MergerMlp mlp{nullptr};
  Linear linear_fc1{nullptr}, linear_fc2{nullptr};
};
TORCH_MODULE(PatchMerger);

/// Conv3d with kernel = stride = (T, P, P) written as the linear layer it is on flattened patches.
class PatchEmbedImpl : public torch::nn::Cloneable<PatchEmbedImpl> {
 public:
  explicit PatchEmbedImpl(VisionTowerOptions options);
  void reset() override;
  at::Tensor forward(const at::Tensor& pixel_values);

  VisionTowerOptions options;
  Linear proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

struct VisionOutput {
  /// [sum of t*h*w / merge^2, out_hidden_size], images in order, each in raster order of its
  /// merged tokens.
  at::Tensor embeds;
  /// Qwen3-VL: one tensor like `embeds` per DeepStack block (in order of the block indexes).
  std::vector<at::Tensor> deepstack;
};

class VisionTowerImpl : public torch::nn::Cloneable<VisionTowerImpl> {
 public:
  explicit VisionTowerImpl(VisionTowerOptions options);
  void reset() override;
  /// pixel_values [N, C*T*P*P] (rows in merge-window order), grid_thw [num_images, 3].
  VisionOutput forward(const at::Tensor& pixel_values, const at::Tensor& grid_thw);

  VisionTowerOptions options;
  PatchEmbed patch_embed{nullptr};
  torch::nn::Embedding pos_embed{nullptr};  ///< Qwen3-VL
  torch::nn::ModuleList blocks{nullptr};
  PatchMerger merger{nullptr};
  torch::nn::ModuleList deepstack_merger_list{nullptr};  ///< Qwen3-VL

 private:
  at::Tensor run_block(size_t i, const at::Tensor& x, const RopeTables& rope, const AttentionMask& mask);
};
TORCH_MODULE(VisionTower);

}  // namespace ec::nn
