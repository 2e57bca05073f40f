// The image-processor settings of a Hugging Face model directory: its preprocessor_config.json
// (pixel bounds, mean/std, patch and merge sizes) over the family's hub defaults, so that a model
// whose processor was changed (e.g. a lower max_pixels) is fed the way it was trained.
#pragma once

#include <filesystem>

#include "editcaption/data/image_processor.h"
#include "editcaption/data/types.h"

namespace ec::train {

/// The family's defaults when the directory has no preprocessor_config.json. Throws
/// UserError(Input) naming the file and key for malformed values.
data::ImageProcessorOptions read_preprocessor_config(const std::filesystem::path& dir, ModelFamily family);

}  // namespace ec::train
