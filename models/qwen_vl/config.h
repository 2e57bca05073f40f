// The Qwen-VL model family's options: the `model:` config section. Architecture (family, text
// decoder, vision tower, special-token ids), where the weights come from, and the training-time
// knobs of the model itself (dtype, attention kernel, activation checkpointing, freezing, LoRA).
// Presets live in configs/models/*.yaml; a Hugging Face config.json converts both ways
// (models/qwen_vl/hf_config.h). Facts: ../shared/spec/qwen_vl.md sections 1-3.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "editcaption/config/visitor.h"
#include "editcaption/data/types.h"
#include "models/nn/activation.h"
#include "models/nn/attention.h"

namespace ec::models {

/// The LLM: a Qwen2 (q/k/v bias) or Qwen3 (per-head q/k RMSNorm) decoder with M-RoPE.
struct QwenTextConfig {
  using is_config_section = void;
  int64_t vocab_size = 320;
  int64_t hidden_size = 64;
  int64_t intermediate_size = 112;
  int64_t num_layers = 2;
  int64_t num_heads = 4;
  int64_t num_kv_heads = 2;
  /// 0: hidden_size / num_heads (Qwen2/2.5); Qwen3 states it (128 in every release).
  int64_t head_dim = 0;
  double rope_theta = 1e6;
  /// Frequency slots per position axis (temporal, height, width); they sum to head_dim / 2.
  std::vector<int64_t> mrope_section{2, 3, 3};
  /// Qwen3-VL spreads the axes over the slots (t h w t h w ...); Qwen2/2.5 use contiguous blocks.
  bool mrope_interleaved = false;
  double rms_norm_eps = 1e-6;
  int64_t max_position_embeddings = 32768;

  int64_t resolved_head_dim() const { return head_dim > 0 ? head_dim : hidden_size / num_heads; }

  template <class V>
  void visit(V& v) {
    v("vocab_size", vocab_size, "Rows of the embedding and of the LM head.", config::at_least<int64_t>(1));
    v("hidden_size", hidden_size, "Width of the residual stream.", config::at_least<int64_t>(1));
    v("intermediate_size", intermediate_size, "Width of the SwiGLU MLP.", config::at_least<int64_t>(1));
    v("num_layers", num_layers, "Decoder layers.", config::at_least<int64_t>(1));
    v("num_heads", num_heads, "Query heads.", config::at_least<int64_t>(1));
    v("num_kv_heads", num_kv_heads, "Key/value heads (grouped-query attention).", config::at_least<int64_t>(1));
    v("head_dim", head_dim, "Head width; 0 means hidden_size / num_heads.", config::at_least<int64_t>(0));
    v("rope_theta", rope_theta, "RoPE base.", config::greater_than(0.0));
    v("mrope_section", mrope_section, "M-RoPE frequency slots per axis (temporal, height, width).");
    v("mrope_interleaved", mrope_interleaved, "Interleaved M-RoPE axes (Qwen3-VL) instead of contiguous sections.");
    v("rms_norm_eps", rms_norm_eps, "RMSNorm epsilon.", config::greater_than(0.0));
    v("max_position_embeddings", max_position_embeddings, "Longest position the model was trained for (informational).",
      config::at_least<int64_t>(1));
  }
};

/// The vision tower: patch embedding, transformer blocks with 2-D RoPE and the patch merger(s).
struct QwenVisionConfig {
  using is_config_section = void;
  int64_t depth = 2;
  /// Width of the vision transformer (Hugging Face: `embed_dim` in Qwen2-VL, `hidden_size` later).
  int64_t hidden_size = 32;
  int64_t num_heads = 2;
  /// Width of the vision MLP (Qwen2-VL: embed_dim * mlp_ratio).
  int64_t intermediate_size = 48;
  /// Width of the merged visual tokens: the LLM's hidden size.
  int64_t out_hidden_size = 64;
  int64_t patch_size = 14;
  int64_t temporal_patch_size = 2;
  int64_t spatial_merge_size = 2;
  int64_t in_channels = 3;
  /// MLP activation: quick_gelu (Qwen2-VL), silu (Qwen2.5-VL, gated), gelu_pytorch_tanh (Qwen3-VL).
  nn::Activation hidden_act = nn::Activation::Silu;
  double rope_theta = 10000.0;
  /// Qwen2.5-VL: window side in pixels and the blocks that attend to the whole image.
  int64_t window_size = 112;
  std::vector<int64_t> fullatt_block_indexes{1};
  /// Qwen2.5-VL video time scale (position ids of video frames; images do not use it).
  int64_t tokens_per_second = 2;
  /// Qwen3-VL: learned position grid (a square number) and the blocks feeding DeepStack.
  int64_t num_position_embeddings = 2304;
  std::vector<int64_t> deepstack_visual_indexes;

  int64_t head_dim() const { return hidden_size / num_heads; }
  /// C * T * P * P: the width of one pixel_values row.
  int64_t patch_dim() const { return in_channels * temporal_patch_size * patch_size * patch_size; }

  template <class V>
  void visit(V& v) {
    v("depth", depth, "Vision transformer blocks.", config::at_least<int64_t>(1));
    v("hidden_size", hidden_size, "Vision transformer width.", config::at_least<int64_t>(1));
    v("num_heads", num_heads, "Vision attention heads.", config::at_least<int64_t>(1));
    v("intermediate_size", intermediate_size, "Vision MLP width.", config::at_least<int64_t>(1));
    v("out_hidden_size", out_hidden_size, "Merged visual token width (= text hidden_size).", config::at_least<int64_t>(1));
    v("patch_size", patch_size, "Patch side in pixels (14 Qwen2/2.5, 16 Qwen3).", config::at_least<int64_t>(1));
    v("temporal_patch_size", temporal_patch_size, "Frames per temporal patch.", config::at_least<int64_t>(1));
    v("spatial_merge_size", spatial_merge_size, "Patches merged per side into one LLM token.", config::at_least<int64_t>(1));
    v("in_channels", in_channels, "Image channels.", config::at_least<int64_t>(1));
    v("hidden_act", hidden_act, "Vision MLP activation.");
    v("rope_theta", rope_theta, "Vision 2-D RoPE base.", config::greater_than(0.0));
    v("window_size", window_size, "Qwen2.5-VL: attention window side in pixels.", config::at_least<int64_t>(1));
    v("fullatt_block_indexes", fullatt_block_indexes, "Qwen2.5-VL: blocks with whole-image attention.");
    v("tokens_per_second", tokens_per_second, "Qwen2.5-VL: temporal position scale for video.", config::at_least<int64_t>(1));
    v("num_position_embeddings", num_position_embeddings, "Qwen3-VL: learned position grid entries (a square).",
      config::at_least<int64_t>(1));
    v("deepstack_visual_indexes", deepstack_visual_indexes, "Qwen3-VL: blocks whose outputs feed DeepStack.");
  }
};

struct FreezeConfig {
  using is_config_section = void;
  bool vision_tower = false;
  bool merger = false;
  bool llm = false;

  template <class V>
  void visit(V& v) {
    v("vision_tower", vision_tower, "Freeze the vision transformer (patch embedding, position table, blocks).");
    v("merger", merger, "Freeze the patch merger(s), DeepStack mergers included.");
    v("llm", llm, "Freeze the language model (embedding, decoder, LM head).");
  }
};

struct LoraConfig {
  using is_config_section = void;
  /// 0: no adapters.
  int64_t rank = 0;
  double alpha = 16.0;
  double dropout = 0.0;
  /// Layer names (the last part of a module path: q_proj, k_proj, v_proj, o_proj, gate_proj,
  /// up_proj, down_proj, qkv, proj, ...). "all-linear" means every projection of the LLM.
  std::vector<std::string> targets{"q_proj", "k_proj", "v_proj", "o_proj"};
  /// Also put adapters on the vision tower's layers of the same names.
  bool vision = false;

  template <class V>
  void visit(V& v) {
    v("rank", rank, "LoRA rank; 0 disables adapters.", config::at_least<int64_t>(0));
    v("alpha", alpha, "LoRA alpha (the update is scaled by alpha / rank).", config::greater_than(0.0));
    v("dropout", dropout, "Dropout on the adapter input.", config::range(0.0, 1.0));
    v("targets", targets, "Layer names that get adapters; 'all-linear' for every LLM projection.");
    v("vision", vision, "Also adapt vision tower layers whose names match the targets.");
  }
};

enum class ParamDtype { Float32, BFloat16, Float16 };
EC_CONFIG_ENUM(ParamDtype, {{"float32", ParamDtype::Float32},
                            {"bfloat16", ParamDtype::BFloat16},
                            {"float16", ParamDtype::Float16}})
at::ScalarType to_scalar_type(ParamDtype d);

struct QwenVLConfig {
  using is_config_section = void;
  ModelFamily family = ModelFamily::Qwen25VL;
  QwenTextConfig text;
  QwenVisionConfig vision;
  bool tie_word_embeddings = true;
  int64_t image_token_id = 302;
  int64_t video_token_id = 303;
  int64_t vision_start_token_id = 300;
  int64_t vision_end_token_id = 301;
  /// A Hugging Face model directory (config.json + safetensors). When set, the architecture is
  /// read from its config.json and the keys above are ignored.
  std::filesystem::path pretrained;
  ParamDtype dtype = ParamDtype::Float32;
  nn::AttentionBackend attention = nn::AttentionBackend::Auto;
  bool activation_checkpointing = false;
  FreezeConfig freeze;
  LoraConfig lora;
  /// Standard deviation of the random init of a model built from scratch.
  double init_std = 0.02;

  template <class V>
  void visit(V& v) {
    v("family", family, "Model generation: qwen2_vl, qwen2_5_vl or qwen3_vl.");
    v("text", text, "Language model shape.");
    v("vision", vision, "Vision tower shape.");
    v("tie_word_embeddings", tie_word_embeddings, "LM head shares the embedding matrix.");
    v("image_token_id", image_token_id, "Id of <|image_pad|>: the positions that receive visual features.",
      config::at_least<int64_t>(0));
    v("video_token_id", video_token_id, "Id of <|video_pad|>.", config::at_least<int64_t>(0));
    v("vision_start_token_id", vision_start_token_id, "Id of <|vision_start|>.", config::at_least<int64_t>(0));
    v("vision_end_token_id", vision_end_token_id, "Id of <|vision_end|>.", config::at_least<int64_t>(0));
    v("pretrained", pretrained, "Hugging Face model directory to load; its config.json replaces the shape keys.");
    v("dtype", dtype, "Parameter dtype: float32, bfloat16 or float16.");
    v("attention", attention, "Attention kernel: auto, sdpa, flash, efficient, cudnn (CUDA only but sdpa).");
    v("activation_checkpointing", activation_checkpointing, "Recompute each decoder layer and vision block in backward.");
    v("freeze", freeze, "Components whose parameters are not trained.");
    v("lora", lora, "LoRA adapters.");
    v("init_std", init_std, "Std of the normal init of a model built from scratch.", config::greater_than(0.0));
  }
  void validate(config::Validation& v) const;
};

/// Throws UserError(Usage) listing every problem of the architecture (shapes that cannot work).
void check_architecture(const QwenVLConfig& c, const std::string& source);

/// The special-token ids the model needs must exist in the tokenizer and fit the vocabulary.
/// Throws UserError(Usage) naming the mismatching token.
void check_tokens(const QwenVLConfig& c, const SpecialTokenIds& tokens, int64_t tokenizer_vocab_size);

}  // namespace ec::models
