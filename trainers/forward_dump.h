// `editcaption forward`: one forward pass on given token ids and images, with its logits and 3-D
// position ids dumped to safetensors, so that anyone can check a port (this one or their own)
// against transformers. The dump holds the inputs as they were run, so it is itself a valid input
// of tools/reference/qwen_vl_run_hf.py and of another `editcaption forward`.
#pragma once

#include <filesystem>

#include "editcaption/data/batch.h"
#include "editcaption/data/image_processor.h"
#include "editcaption/io/safetensors.h"
#include "models/qwen_vl/config.h"
#include "models/qwen_vl/model.h"

namespace ec::train {

/// Reads the inputs of one forward pass from `path`:
/// - `.safetensors`: input_ids ([B, L] or [L], int64 or int32), optional attention_mask (same
///   shape, 1 = real token, 0 = padding; default all ones), and with images pixel_values
///   [patches, C*T*P*P] and image_grid_thw [images, 3], exactly what the HF processor returns.
/// - `.json`: {"input_ids": [...] or [[...], ...], "images": ["a.png", ...]}: the images (paths
///   relative to the file) are processed with `image`. Each run of image_token_id tokens stands for
///   the next image; a run of one token is expanded to the image's token count (what HF processors
///   do with one <|image_pad|>), a longer run must already have it. Rows of different lengths are
///   right-padded.
/// Every problem is a UserError(Input) naming the file and the tensor or key.
data::ModelInputs read_forward_inputs(const std::filesystem::path& path, const models::QwenVLConfig& config,
                                      const data::ImageProcessorOptions& image);

/// Runs the forward (no gradients) and returns what to dump: input_ids and attention_mask (int64),
/// pixel_values and image_grid_thw (with images), position_ids [3, B, L], rope_deltas [B] (as
/// transformers computes them: next position minus real length), logits [B, L, vocab] in float32,
/// and with images image_embeds and deepstack_<k> (Qwen3-VL).
io::NamedTensors forward_dump(nn::QwenVLImpl& model, const data::ModelInputs& inputs);

}  // namespace ec::train
