// What the inference commands (caption, eval --model) share: the model path, device and dtype
// options, and the settings resolution (checkpoint config, then CONFIG, then --set).
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "editcaption/cli/command.h"
#include "trainers/captioner.h"
#include "trainers/model_source.h"

namespace ec::cli {

struct ModelArgs {
  std::string model;
  std::string device = "auto";
  std::string dtype;  ///< empty: the source's own (see load_model_source)
  int64_t batch_size = 8;
  int64_t limit = 0;
};

/// --model (required when `required`), --device, --dtype, --batch-size, --limit.
void add_model_args(CLI::App* cmd, ModelArgs& args, bool required = true);
/// Only --device and --dtype (for commands that run the model but do not generate).
void add_device_args(CLI::App* cmd, ModelArgs& args);

/// --device and --dtype resolved: the device, and the parameter dtype (empty: the source's own).
at::Device model_device(const ModelArgs& args);
std::optional<at::ScalarType> model_dtype(const ModelArgs& args);

/// A loaded model with its settings: the experiment config it runs with (checkpoint config,
/// CONFIG, --set) applied to its prompt and image options, and the caption options from it.
struct LoadedModel {
  train::ModelSource source;
  ExperimentConfig config;
  train::CaptionOptions options;
};
LoadedModel load_model(const ModelArgs& model, const ConfigArgs& config);

}  // namespace ec::cli
