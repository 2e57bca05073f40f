// Hugging Face checkpoint tensors <-> the model's parameters (../shared/spec/qwen_vl.md 6):
//   nested layout: model.visual.*, model.language_model.*, lm_head.weight (Qwen3-VL, re-saved models)
//   legacy layout: visual.*, model.* (text trunk), lm_head.weight (Qwen2/2.5-VL hub checkpoints)
// Our names are the nested ones without the leading "model."; the patch embedding is a Conv3d
// weight [D, C, T, P, P] in checkpoints and a linear weight [D, C*T*P*P] here. A tied model has no
// lm_head.weight; an untied config without one is an error (a known broken-upload case).
#pragma once

#include <ATen/core/ScalarType.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "models/qwen_vl/model.h"

namespace ec::models {

enum class HfLayout { Legacy, Nested };
EC_CONFIG_ENUM(HfLayout, {{"legacy", HfLayout::Legacy}, {"nested", HfLayout::Nested}})

/// The layout transformers 5.x itself writes for a family (legacy for Qwen2/2.5-VL, nested for Qwen3-VL).
HfLayout default_layout(ModelFamily family);

/// Our parameter name for a checkpoint tensor of either layout; nullopt for tensors that carry
/// no parameter (rotary inv_freq buffers some exporters include).
std::optional<std::string> internal_name(const std::string& hf_name);
std::string hf_name(const std::string& internal, HfLayout layout);

/// Loads every parameter (LoRA adapters excepted) from a safetensors directory (single file or
/// sharded with an index), converting dtypes. Missing, unexpected and mis-shaped tensors are
/// collected into one UserError(Input) naming the directory and the tensors.
void load_hf_weights(nn::QwenVLImpl& model, const std::filesystem::path& dir);

struct SaveOptions {
  at::ScalarType dtype = at::kBFloat16;
  std::optional<HfLayout> layout;  ///< default: default_layout(family)
  uint64_t max_shard_bytes = 5'000'000'000;
};
/// Writes model.safetensors (or shards and an index). Active, unmerged LoRA adapters are folded
/// into the saved weights.
void save_hf_weights(nn::QwenVLImpl& model, const std::filesystem::path& dir, const SaveOptions& options = {});

}  // namespace ec::models
