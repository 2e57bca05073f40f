// Building the model a `model:` config section describes: the architecture from the section or
// from `pretrained`'s config.json, weights from `pretrained` or a seeded random init, then dtype
// and device, LoRA adapters and freezing.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <filesystem>

#include "editcaption/dist/tp.h"
#include "models/qwen_vl/config.h"
#include "models/qwen_vl/model.h"

namespace ec::models {

/// `config` with its architecture replaced by pretrained/config.json when `pretrained` is set.
QwenVLConfig resolve_config(const QwenVLConfig& config);

struct BuildOptions {
  at::Device device = at::kCPU;
  /// Seed of the random init (models built from scratch).
  uint64_t seed = 0;
  const dist::TpGroup* tp = nullptr;
};

/// The model with its weights, in config.dtype on `device`, adapters added and components frozen
/// as configured. Logs the parameter report.
nn::QwenVL build_model(const QwenVLConfig& config, const BuildOptions& options = {});

/// A Hugging Face model directory as it is (inference, export): no adapters, nothing frozen.
nn::QwenVL load_pretrained(const std::filesystem::path& dir, at::Device device = at::kCPU,
                           at::ScalarType dtype = at::kFloat);

}  // namespace ec::models
