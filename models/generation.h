// Text generation with a KV cache: prefill a (left- or right-padded) batch of prompts with
// images, then decode one token per step, each row's M-RoPE ids continuing its prompt's
// (transformers' rope delta). Greedy, or sampling with temperature, top-k and top-p;
// repetition penalty; stop tokens; a seeded generator, so sampling repeats for a given seed.
// Sampling draws on the CPU (one [B, vocab] transfer per step): the same seed gives the same
// draws on any device. With per-row seeds each row draws from its own generator, so a row's
// output does not depend on which other prompts share its batch.
#pragma once

#include <cstdint>
#include <optional>
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
  /// Seed of this row's sampling generator; every prompt of a batch has one or none does
  /// (none: one generator for the batch, seeded with config.seed).
  std::optional<uint64_t> seed;
};

/// A padded batch (attention_mask marks real tokens; any padding side) with its images.
/// `row_seeds`: empty, or one sampling seed per row (see GenerationPrompt::seed).
GenerationResult generate(nn::QwenVLImpl& model, const data::ModelInputs& batch, const GenerationConfig& config,
                          const std::vector<uint64_t>& row_seeds = {});
GenerationResult generate(nn::QwenVLImpl& model, const std::vector<GenerationPrompt>& prompts,
                          const GenerationConfig& config);

/// Applies repetition penalty, temperature, top-k and top-p to logits [B, V] (float32) the way
/// transformers' logits processors do; `seen` [B, V] bool marks tokens the penalty applies to.
at::Tensor process_logits(const at::Tensor& logits, const at::Tensor& seen, const GenerationConfig& config);

}  // namespace ec::models
