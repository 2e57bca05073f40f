// Text generation with a KV cache: prefill a (left- or right-padded) batch of prompts with
// images, then decode one token per step, each row's M-RoPE ids continuing its prompt's
// (transformers' rope delta). Greedy, or sampling with temperature, top-k and top-p;
// repetition penalty; stop tokens; a seeded generator, so sampling repeats for a given seed.
// Sampling draws on the CPU (one [B, vocab] transfer per step): the same seed gives the same
// draws on any device.
#pragma once

#include <cstdint>
#include <vector>

#include "editcaption/data/batch.h"
#include "models/generation_config.h"
#include "models/qwen_vl/model.h"

namespace ec::models {

struct GenerationResult {
  /// Generated tokens per row, stop token excluded.
  std::vector<std::vector<int32_t>> tokens;
  /// True where the row ended on a stop token (false: max_new_tokens reached).
  std::vector<bool> stopped;
  int64_t steps = 0;
};

/// One prompt: its token ids (image spans expanded) and its images in order of appearance.
struct GenerationPrompt {
  std::vector<int32_t> input_ids;
  std::vector<data::ProcessedImage> images;
};

/// A padded batch (attention_mask marks real tokens; any padding side) with its images.
GenerationResult generate(nn::QwenVLImpl& model, const data::ModelInputs& batch, const GenerationConfig& config);
GenerationResult generate(nn::QwenVLImpl& model, const std::vector<GenerationPrompt>& prompts,
                          const GenerationConfig& config);

/// Applies repetition penalty, temperature, top-k and top-p to logits [B, V] (float32) the way
/// transformers' logits processors do; `seen` [B, V] bool marks tokens the penalty applies to.
at::Tensor process_logits(const at::Tensor& logits, const at::Tensor& seen, const GenerationConfig& config);

}  // namespace ec::models
