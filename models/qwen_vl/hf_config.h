// Hugging Face config.json <-> QwenVLConfig (../shared/spec/qwen_vl.md 1.1):
//   - text keys nested under text_config (transformers >= 4.52, all Qwen3-VL) or at the top level
//     (Qwen2/2.5-VL hub files);
//   - RoPE base and M-RoPE sections in rope_parameters (5.x), rope_scaling (4.x) or a top-level
//     rope_theta;
//   - the vision naming traps: Qwen2-VL's embed_dim is the ViT width and its hidden_size the merger
//     output; later families say hidden_size / out_hidden_size. Missing keys take the
//     transformers class defaults, legacy keys transformers ignores (in_chans,
//     spatial_patch_size) are ignored here too.
// Writing produces the 5.x nested layout that transformers 5.x loads.
#pragma once

#include <ATen/core/ScalarType.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "models/qwen_vl/config.h"

namespace ec::models {

/// `source` names the file in errors (UserError(Input) naming the key).
QwenVLConfig config_from_hf(const nlohmann::json& j, const std::string& source);
/// Reads DIR/config.json (or the given file).
QwenVLConfig load_hf_config(const std::filesystem::path& path);
/// The architecture part of `c` as a config.json; `dtype` is recorded as the weights' dtype.
nlohmann::ordered_json config_to_hf(const QwenVLConfig& c, at::ScalarType dtype);

}  // namespace ec::models
