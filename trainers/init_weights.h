// Where a stage's policy starts: the architecture and weights a config names (`train.init`, else
// the model section), and the identity of those weights. The identity is what a DPO run records as
// its reference: the SHA-256 digest of the weights file a checkpoint's manifest recorded, a hash of
// a Hugging Face directory's safetensors, or for a seeded random init the hash of the architecture
// and the seed.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "editcaption/dist/tp.h"
#include "models/qwen_vl/model.h"
#include "trainers/experiment_config.h"

namespace ec::train {

struct Policy {
  nn::QwenVL model{nullptr};
  std::string identity;
  std::string source;  ///< human-readable origin, for the log
};

/// Builds the model of `cfg.model` (adapters and freezing included) with the weights of
/// `cfg.train.init` when set.
Policy build_policy(const ExperimentConfig& cfg, at::Device device, const dist::TpGroup* tp = nullptr);

/// The checkpoint directory a path stands for: a step_* directory itself, or a run directory (or
/// checkpoint root) through its `latest` file; nothing if `path` is neither.
std::optional<std::filesystem::path> checkpoint_dir_of(const std::filesystem::path& path);

/// The experiment config a checkpoint was written with (rank 0's config.json).
ExperimentConfig checkpoint_config(const std::filesystem::path& checkpoint_dir);

/// Copies `tensors` into the model's parameters of the same names. Every parameter must be given
/// with its shape unless `allow_missing` accepts its name; extra tensors are errors. `what` names
/// the source in messages.
void load_named_parameters(torch::nn::Module& model, const std::map<std::string, at::Tensor>& tensors,
                           const std::string& what, const std::function<bool(const std::string&)>& allow_missing = {});

/// Identity of a Hugging Face directory's weights: SHA-256 over its safetensors files' digests.
std::string hf_weights_identity(const std::filesystem::path& dir);

}  // namespace ec::train
