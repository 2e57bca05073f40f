// The model weights of a training checkpoint in full, whatever tensor-parallel size wrote it: with
// dist.tp = N the ranks of data-parallel index 0 (global ranks 0..N-1) each saved their part of the
// model, and the parts are joined by the sharding rule of models/qwen_vl/tp_shard.h (no
// communication). `train.init`, `export --hf`, captioning and `eval --model` read checkpoints here.
#pragma once

#include <ATen/Tensor.h>

#include <map>
#include <string>

#include "editcaption/ckpt/checkpoint.h"

namespace ec::train {

/// The dist.tp a checkpoint was written with (its rank_00000/layout.json; 1 without one).
int checkpoint_tp(const ckpt::Checkpoint& c);

/// Full model tensors by parameter name (views over the files when tp = 1, joined copies of the
/// sharded ones otherwise). UserError(Checkpoint) when a part is missing.
std::map<std::string, at::Tensor> read_checkpoint_model(const ckpt::Checkpoint& c);

/// Content identity of the checkpoint's weights: the manifest digest of rank_00000/model.safetensors
/// (tp = 1), or a SHA-256 over the digests of every tensor-parallel part.
std::string checkpoint_model_digest(const ckpt::Checkpoint& c);

/// Where the weights come from, for messages (rank_00000/model.safetensors, or the parts).
std::string checkpoint_model_files(const ckpt::Checkpoint& c);

}  // namespace ec::train
