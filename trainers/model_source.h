// A model ready for inference, from whatever path a user names: a Hugging Face model directory, an
// editcaption checkpoint (step_XXXXXXXX/), or a run directory (its newest committed checkpoint).
// Captioning, `eval --model` and the demo all start here, so every path gets the same checks:
// weights complete and of the right shapes, the tokenizer agreeing with the model's special
// tokens, LoRA adapters merged.
#pragma once

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "editcaption/data/chat_template.h"
#include "editcaption/data/image_processor.h"
#include "editcaption/data/tokenizer.h"
#include "models/qwen_vl/config.h"
#include "models/qwen_vl/model.h"

namespace ec::train {

enum class ModelSourceKind { HuggingFace, Checkpoint };

struct ModelSource {
  nn::QwenVL model{nullptr};  ///< eval mode, LoRA merged if any
  std::shared_ptr<const data::Tokenizer> tokenizer;  ///< null when loaded without one
  models::QwenVLConfig model_config;
  data::ChatOptions chat;             ///< from the prompt section (or defaults for HF dirs)
  data::ImageProcessorOptions image;  ///< processor settings to use
  /// Content identity: SHA-256 of the weights file (from the checkpoint manifest's digest, or of
  /// the HF safetensors file); several shards: SHA-256 of their "name digest" lines.
  std::string identity;
  std::filesystem::path resolved;  ///< the directory actually loaded
  ModelSourceKind kind = ModelSourceKind::HuggingFace;
  /// A checkpoint's resolved experiment config (what `config check` prints); null for HF dirs.
  /// Inference settings (generation, prompt, image limits) start from it.
  nlohmann::ordered_json config;
};

/// Loads `path` (HF model dir, checkpoint dir or run dir) onto `device`. `dtype`: parameter dtype
/// (default: the checkpoint's model.dtype; for HF dirs float32 on the CPU, bfloat16 on CUDA).
/// Throws UserError(Input) for a path that is none of these or unreadable HF files,
/// UserError(Checkpoint) for a checkpoint whose tensors do not fit its config. Without
/// `with_tokenizer` the tokenizer is neither loaded nor required (ModelSource::tokenizer is null):
/// `editcaption forward` runs given token ids, and HF model directories need not ship tokenizer files.
ModelSource load_model_source(const std::filesystem::path& path, at::Device device,
                              std::optional<at::ScalarType> dtype = {}, bool with_tokenizer = true);

/// The directory `path` stands for and its kind, without loading anything: a run dir or
/// checkpoint root resolves to the checkpoint its `latest` names.
struct ResolvedModelPath {
  std::filesystem::path dir;
  ModelSourceKind kind = ModelSourceKind::HuggingFace;
};
ResolvedModelPath resolve_model_path(const std::filesystem::path& path);

}  // namespace ec::train
