// `editcaption export --hf`: a directory transformers loads with from_pretrained:
// config.json (5.x nested layout), model.safetensors (or shards + index), and the tokenizer,
// processor and chat-template files copied from where they are available; a
// preprocessor_config.json for the family's image processor is written when none is copied.
#pragma once

#include <ATen/core/ScalarType.h>

#include <filesystem>
#include <optional>
#include <vector>

#include "models/qwen_vl/hf_weights.h"
#include "models/qwen_vl/model.h"

namespace ec::models {

struct ExportOptions {
  at::ScalarType dtype = at::kBFloat16;
  std::optional<HfLayout> layout;  ///< default: what transformers writes for the family
  uint64_t max_shard_bytes = 5'000'000'000;
  /// Directories (or files) to copy tokenizer / processor / chat-template / generation files
  /// from, in order; the first copy of a file name wins.
  std::vector<std::filesystem::path> assets;
};

/// The files an exported directory may take from `assets`.
const std::vector<std::string>& exported_asset_names();

/// Writes the export into `out_dir` (created; existing files of the same names are replaced).
/// Returns the names of the asset files copied or generated.
std::vector<std::string> export_hf(nn::QwenVLImpl& model, const std::filesystem::path& out_dir,
                                   const ExportOptions& options = {});

/// The image processor settings transformers uses for the family (patch size, merge size, mean and
/// std, min/max pixels of the hub configs), as preprocessor_config.json.
nlohmann::ordered_json preprocessor_config(const QwenVLConfig& config);

}  // namespace ec::models
