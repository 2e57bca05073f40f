// Parameter counts: from a config alone (no allocation, so the 32B preset can be checked on a
// laptop; ../shared/spec/qwen_vl.md 1.4 lists the published totals) and from a built model
// (total and trainable per component, the report printed at startup).
#pragma once

#include <torch/nn/module.h>

#include <cstdint>
#include <string>
#include <vector>

#include "models/qwen_vl/config.h"

namespace ec::models {

struct ParameterCounts {
  int64_t vision_tower = 0;  ///< patch embedding, position table, blocks
  int64_t merger = 0;        ///< main merger and DeepStack mergers
  int64_t embedding = 0;
  int64_t decoder = 0;       ///< layers and final norm
  int64_t lm_head = 0;       ///< 0 when tied
  int64_t vision() const { return vision_tower + merger; }
  int64_t llm() const { return embedding + decoder + lm_head; }
  int64_t total() const { return vision() + llm(); }
};

/// Computed from the shapes (LoRA adapters not included).
ParameterCounts count_parameters(const QwenVLConfig& config);

struct ComponentCount {
  std::string name;  ///< vision_tower, merger, embedding, decoder, lm_head, lora
  int64_t total = 0;
  int64_t trainable = 0;
};

/// Counted on a model built by editcaption (parameter names as in models/qwen_vl/model.h); LoRA
/// adapter parameters are their own component.
std::vector<ComponentCount> parameter_report(const torch::nn::Module& model);
/// A small table: component, parameters, trainable.
std::string format_parameter_report(const std::vector<ComponentCount>& report);

}  // namespace ec::models
