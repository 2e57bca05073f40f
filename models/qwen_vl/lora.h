// LoRA adapters and component freezing on a built model.
//
//   apply_lora(model, cfg)         adapters on the LLM layers whose name is in cfg.targets (and the
//                                  vision blocks' with cfg.vision); the base weights of every
//                                  adapted component are frozen;
//   LoraDisabled guard(model)      adapters off for a scope: the base model (the DPO reference of a
//                                  LoRA run, without a second copy of the weights);
//   merge_lora / unmerge_lora      fold adapters into the weights and back.
#pragma once

#include <torch/nn/module.h>

#include <cstdint>

#include "models/qwen_vl/config.h"

namespace ec::models {

/// Returns the number of layers that received an adapter; throws UserError(Usage) when a target
/// matches no layer. Adapters take the dtype and device of their layer.
int64_t apply_lora(torch::nn::Module& model, const LoraConfig& config);
void set_lora_enabled(torch::nn::Module& model, bool enabled);
void merge_lora(torch::nn::Module& model);
void unmerge_lora(torch::nn::Module& model);
bool has_lora(const torch::nn::Module& model);

class LoraDisabled {
 public:
  explicit LoraDisabled(torch::nn::Module& model) : model_(model) { set_lora_enabled(model_, false); }
  ~LoraDisabled() { set_lora_enabled(model_, true); }
  LoraDisabled(const LoraDisabled&) = delete;
  LoraDisabled& operator=(const LoraDisabled&) = delete;

 private:
  torch::nn::Module& model_;
};

/// requires_grad = false on the frozen components (vision tower, merger, LLM) of a model built by
/// editcaption; LoRA adapters stay trainable.
void apply_freeze(torch::nn::Module& model, const FreezeConfig& config);

}  // namespace ec::models
