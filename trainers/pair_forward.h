// The pair-aware forward of a DPO micro-batch: final hidden states of every answer token with its
// label and the sequence (answer) it belongs to, ready for the fused log-prob kernel.
//
//   separate       2P full sequences (prompt + chosen for pairs [0, P), prompt + rejected for
//                  [P, 2P)); prompt positions carry no labels;
//   shared_prefix  the P prompts (and their images) run once; the 2P answers attend to their
//                  prompt's keys and values. The first answer token is predicted from the
//                  prompt's last hidden state, so it is prepended to the answer's hidden states.
// Both give each answer the same labelled tokens at the same positions (a test checks the
// log-probs agree).
#pragma once

#include "editcaption/data/collate.h"
#include "models/qwen_vl/model.h"

namespace ec::train {

struct AnswerStates {
  at::Tensor hidden;        ///< [..., d]
  at::Tensor labels;        ///< [...] int64, kIgnoreIndex where there is nothing to predict
  at::Tensor sequence_ids;  ///< [...] int64: answer index in [0, 2P), -1 for none
};

/// `batch` on the model's device. `vision`: image features computed beforehand (shared frozen tower).
AnswerStates pair_forward(nn::QwenVLImpl& model, const data::PairBatch& batch,
                          const nn::VisionOutput* vision = nullptr);

/// Sequence index of every position of a padded [B, L] or packed [1, T] batch.
at::Tensor sequence_index(const data::ModelInputs& inputs);

}  // namespace ec::train
