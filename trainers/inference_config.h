// The settings inference runs with. A checkpoint carries the config it was trained with (prompt,
// image limits, generation); inference starts from it so that the model is prompted and fed as in
// training, then applies the command's config file and --set overrides on top. A Hugging Face
// directory starts from the defaults.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "trainers/captioner.h"
#include "trainers/experiment_config.h"
#include "trainers/model_source.h"

namespace ec::train {

/// The checkpoint's config (defaults for HF dirs), then `file` (may be empty), then `overrides`.
ExperimentConfig inference_config(const ModelSource& source, const std::filesystem::path& file,
                                  const std::vector<std::string>& overrides);

/// Takes the prompt and image limits of `cfg` into the source's chat and processor options.
void apply_inference_config(ModelSource& source, const ExperimentConfig& cfg);

/// Generation and token budget from `cfg`; the command-line counts stay at their defaults.
CaptionOptions caption_options(const ExperimentConfig& cfg);

}  // namespace ec::train
