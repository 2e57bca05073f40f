// Collators: lists of tokenized samples -> ModelInputs (batch.h).
//
// Two token layouts:
//   padded  [B, L]: right-padded with <|endoftext|>, attention_mask true on real tokens, padding
//           positions 1 (as transformers' get_rope_index), labels kIgnoreIndex on padding;
//   packed  [1, T]: the sequences back to back without padding, cu_seqlens [S + 1] (int32) and
//           max_seqlen; M-RoPE ids restart at 0 in every sequence.
// Labels arrive already shifted inside each sample (the last position never carries one), so no
// label ever points across a sequence boundary in either layout.
//
// DPO pairs (PairBatch) come in two layouts:
//   separate       2P full sequences, prompt + chosen for pairs [0, P), then prompt + rejected
//                  for [P, 2P) (as TRL's concatenated forward): simple, the images and the prompt
//                  are encoded twice;
//   shared_prefix  the P prompts (with their images) in `inputs`, and the 2P answers in `answers`
//                  (chosen [0, P), rejected [P, 2P), no images) whose M-RoPE ids continue their
//                  prompt's. Answer i attends to every token of prompt answer_prompt[i], then
//                  causally to its own tokens. The images and the prompt are encoded once per
//                  pair. The first answer token is predicted from the prompt's last position:
//                  its id is answer_first_token[i] and that position is prompt_last_index[p];
//                  inside the answer, labels are shifted as usual. Both layouts give every answer
//                  the same labelled tokens and the same positions.
#pragma once

#include <ATen/Tensor.h>

#include <span>
#include <string>
#include <vector>

#include "editcaption/config/visitor.h"
#include "editcaption/data/batch.h"
#include "editcaption/data/sample.h"
#include "editcaption/data/types.h"

namespace ec::data {

enum class PairLayout { Separate, SharedPrefix };
EC_CONFIG_ENUM(PairLayout, {{"separate", PairLayout::Separate}, {"shared_prefix", PairLayout::SharedPrefix}})

/// `data.collate`
struct CollateConfig {
  using is_config_section = void;
  bool packed = false;
  PairLayout pair_layout = PairLayout::Separate;
  int64_t pad_to_multiple = 1;

  template <class V>
  void visit(V& v) {
    v("packed", packed, "Padding-free batches: sequences back to back in one row with cu_seqlens (varlen attention).");
    v("pair_layout", pair_layout,
      "DPO batches: `separate` (prompt+chosen and prompt+rejected as full sequences) or `shared_prefix` (each "
      "prompt and its images encoded once, both answers continue it).");
    v("pad_to_multiple", pad_to_multiple, "Padded batches: round the padded length up to a multiple of this.",
      config::at_least<int64_t>(1));
  }
};

struct CollateOptions {
  SpecialTokenIds special;
  /// Spatial merge of the vision tower (2 for every Qwen-VL family).
  int64_t merge_size = 2;
  bool packed = false;
  int64_t pad_to_multiple = 1;
};

/// One SFT micro-batch: the model inputs plus what metrics need.
struct SftBatch {
  ModelInputs inputs;
  std::vector<std::string> ids;
  /// EditCategory as int, -1 when the record has none.
  std::vector<int64_t> categories;
};

/// One DPO micro-batch of P pairs (see the layouts above).
struct PairBatch {
  PairLayout layout = PairLayout::Separate;
  /// separate: the 2P full sequences; shared_prefix: the P prompts.
  ModelInputs inputs;
  /// shared_prefix only: the 2P answers (no images).
  ModelInputs answers;
  /// shared_prefix only: [2P] int64, the prompt each answer continues (i mod P).
  at::Tensor answer_prompt;
  /// shared_prefix only: [2P] int64, each answer's first token, the label of its prompt's last position.
  at::Tensor answer_first_token;
  /// shared_prefix only: [P] int64, flat index of each prompt's last token in inputs.input_ids
  /// (row * L + length - 1 when padded, cu_seqlens[p + 1] - 1 when packed).
  at::Tensor prompt_last_index;
  /// [P] float32 loss weight of each pair (1 unless the manifest says otherwise).
  at::Tensor weight;
  /// [P] float32 per-pair margin (0 where absent) and [P] bool whether the manifest gave one.
  at::Tensor margin, has_margin;
  /// [P] int64 ErrorType / Severity as int, -1 where absent.
  at::Tensor error_type, severity;
  std::vector<std::string> ids;

  int64_t num_pairs() const { return static_cast<int64_t>(ids.size()); }
};

/// One sequence for the generic collators: tokens, shifted labels, its images, and the first
/// M-RoPE id (0, or where a prefix ended).
struct SequenceView {
  std::span<const int32_t> input_ids;
  std::span<const int64_t> labels;
  std::span<const ProcessedImage> images;
  int64_t position_start = 0;
};

/// Padded or packed (options.packed) inputs of arbitrary sequences, in order.
ModelInputs collate_sequences(std::span<const SequenceView> sequences, const CollateOptions& options);

SftBatch collate_sft(std::span<const Sample> samples, const CollateOptions& options);
PairBatch collate_pairs(std::span<const PairSample> pairs, const CollateOptions& options, PairLayout layout);

/// Shifted labels of prompt + answer: kIgnoreIndex, except that the position before every
/// answer token predicts it. The last position has no label.
std::vector<int64_t> answer_labels(size_t prompt_length, std::span<const int32_t> answer);

/// Moves every tensor to page-locked memory (only call when CUDA is available).
void pin_memory(ModelInputs& inputs);
void pin_memory(SftBatch& batch);
void pin_memory(PairBatch& batch);

}  // namespace ec::data
