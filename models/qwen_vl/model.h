// The multimodal Qwen-VL model: the vision tower's merged features replace the image-pad token
// embeddings, the decoder runs over the result, and the LM head (or the tied embedding) projects
// to the vocabulary. Forward modes, all on the same weights:
//
//   forward(inputs)                  padded [B, L] with attention_mask (Hugging Face parity) or
//                                    packed [1, T] with cu_seqlens (padding-free SFT);
//   forward_prefix / forward_continuation
//                                    prefix sharing for DPO: prompts (with images) run once and
//                                    keep each layer's keys/values in the autograd graph; any number
//                                    of continuations (chosen, rejected) attend to their prompt's
//                                    keys plus causally to themselves, ids continuing the prompt's;
//   prefill / decode_step            incremental decoding with a KvCache (generation).
//
// Every mode can return the final-norm hidden states (so a loss can project only the positions it
// needs, e.g. through a fused kernel with lm_head_weight() and vocab_shard()) and/or the full logits.
//
// Tensor parallelism (QwenVLOptions::tp): the embedding and the LM head are vocab-parallel. Each
// rank holds the rows of its token ids (tp_shard.h); lm_head_weight() is this rank's rows and a
// fused loss must be given vocab_shard(); logits() all-gathers the ranks' vocabulary slices, so
// every mode still returns the full [..., vocab] logits on every rank.
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <vector>

#include "editcaption/data/batch.h"
#include "kernels/vocab_parallel.h"
#include "models/nn/linear.h"
#include "models/qwen_vl/config.h"
#include "models/qwen_vl/kv_cache.h"
#include "models/qwen_vl/text.h"
#include "models/qwen_vl/vision.h"

namespace ec::nn {

struct QwenVLOptions {
  explicit QwenVLOptions(models::QwenVLConfig config) : config(std::move(config)) {}
  models::QwenVLConfig config;
  /// Tensor-parallel group of the decoder (nullptr: none). Not owned.
  const dist::TpGroup* tp = nullptr;
};

struct ForwardOptions {
  bool return_logits = true;
  bool return_hidden = false;
  /// Image features already computed by encode_images for these inputs' pixel_values (not owned):
  /// a frozen vision tower shared by the DPO policy and its reference runs once for both.
  const VisionOutput* vision = nullptr;
};

struct ForwardOutput {
  at::Tensor hidden;  ///< [B, L, d] after the final norm (when asked for)
  at::Tensor logits;  ///< [B, L, vocab] in the parameters' dtype (when asked for)
};

/// A batch of prompts run once, for continuations to attend to.
struct PrefixState {
  std::vector<LayerKv> kv;    ///< per layer, [P, Hkv, Lp, head_dim], in the autograd graph
  at::Tensor key_valid;       ///< [P, Lp] bool
  at::Tensor next_position;   ///< [P] int64: M-RoPE id of the first continuation token
  at::Tensor last_hidden;     ///< [P, d] final-norm hidden state of each prompt's last real token
};

struct PrefixOutput {
  ForwardOutput output;  ///< over the prompt tokens
  PrefixState state;
};

struct ContinuationInputs {
  at::Tensor input_ids;       ///< [A, La] int64
  at::Tensor attention_mask;  ///< [A, La] bool, true for real tokens (right padding); undefined: all real
  at::Tensor prefix_index;    ///< [A] int64: the prompt (row of the PrefixState) each continuation extends
};

class QwenVLImpl : public torch::nn::Cloneable<QwenVLImpl> {
 public:
  explicit QwenVLImpl(QwenVLOptions options);
  void reset() override;

  /// One pass over a padded or packed batch (data::ModelInputs; labels are ignored here). When
  /// position_ids is undefined it is computed from the tokens and image grids.
  ForwardOutput forward(const data::ModelInputs& inputs, const ForwardOptions& options = {});

  PrefixOutput forward_prefix(const data::ModelInputs& prompts, const ForwardOptions& options = {});
  ForwardOutput forward_continuation(const PrefixState& prefix, const ContinuationInputs& inputs,
                                     const ForwardOptions& options = {});

  /// Runs a padded batch (prompts, any padding side) into an empty cache.
  ForwardOutput prefill(const data::ModelInputs& inputs, models::KvCache& cache, const ForwardOptions& options = {});
  /// Appends input_ids [B, n] (text tokens) to the cache and returns their outputs.
  ForwardOutput decode_step(const at::Tensor& input_ids, models::KvCache& cache, const ForwardOptions& options = {});

  /// The vision tower's merged features for pixel_values / grid_thw (and DeepStack features).
  VisionOutput encode_images(const at::Tensor& pixel_values, const at::Tensor& grid_thw);
  /// Projects hidden states [..., d] to logits [..., vocab] (the full vocabulary: with a
  /// tensor-parallel group the ranks' slices are all-gathered).
  at::Tensor logits(const at::Tensor& hidden);
  /// [vocab, d]: the LM head's weight, or the embedding matrix when tied. With a tensor-parallel
  /// group only this rank's rows [vocab / tp, d] (token ids vocab_shard()->vocab_start onwards).
  at::Tensor lm_head_weight() const;
  /// The vocab-parallel layout of lm_head_weight() for the fused losses
  /// (kernels::LogprobOptions::shard), all-reducing over the tensor-parallel group; null without
  /// one (tp = 1).
  std::shared_ptr<const kernels::VocabShard> vocab_shard() const { return vocab_shard_; }

  const models::QwenVLConfig& config() const { return options.config; }

  QwenVLOptions options;
  VisionTower visual{nullptr};
  TextDecoder language_model{nullptr};
  Linear lm_head{nullptr};  ///< null when tied

 private:
  struct Embedded {
    at::Tensor embeds;
    at::Tensor visual_positions;
    std::vector<at::Tensor> deepstack;
  };
  Embedded embed(const at::Tensor& input_ids, const at::Tensor& pixel_values, const at::Tensor& grid_thw,
                 const VisionOutput* vision = nullptr);
  ForwardOutput finish(const at::Tensor& hidden, const ForwardOptions& options);
  std::shared_ptr<const kernels::VocabShard> vocab_shard_;
};
TORCH_MODULE(QwenVL);

}  // namespace ec::nn
