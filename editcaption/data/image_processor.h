// The Qwen-VL image processor (../shared/spec/qwen_vl.md sections 2.2 and 4), matching Hugging
// Face transformers' Qwen2VLImageProcessor (also used for Qwen2.5-VL and Qwen3-VL):
//   smart_resize (Python round-half-even) -> bicubic resize with antialiasing (the kernel
//   torchvision uses for uint8 images, called through ATen) -> rescale + normalize with the
//   family's mean/std -> temporal duplication -> patchify into rows of C*T*P*P in merge-window
//   order, with grid_thw.
// The resize and the normalize/patchify steps are separate so that packed datasets can store
// resized uint8 pixels and finish the processing without OpenCV.
#pragma once

#include <ATen/Tensor.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>

#include "editcaption/config/visitor.h"
#include "editcaption/data/batch.h"
#include "editcaption/data/image.h"
#include "editcaption/data/types.h"

namespace ec::data {

/// `data.image`: image decoding and resizing limits.
struct ImageConfig {
  using is_config_section = void;
  /// Pixel bounds of smart_resize; null takes the family's hub preprocessor_config value.
  std::optional<int64_t> min_pixels;
  std::optional<int64_t> max_pixels;
  int64_t max_decode_pixels = int64_t(8192) * 8192;
  int64_t reduce_decode_above_pixels = int64_t(4096) * 4096;

  template <class V>
  void visit(V& v) {
    v("min_pixels", min_pixels,
      "Lower pixel bound of smart_resize (null: the family's hub value, 3136 for Qwen2/2.5-VL, 65536 for Qwen3-VL).",
      config::at_least<int64_t>(1));
    v("max_pixels", max_pixels,
      "Upper pixel bound of smart_resize (null: the family's hub value, 12845056 for Qwen2/2.5-VL, 16777216 for "
      "Qwen3-VL). Lower it to bound visual tokens per image.",
      config::at_least<int64_t>(1));
    v("max_decode_pixels", max_decode_pixels,
      "Refuse images taking more pixels than this once decoded (decompression-bomb and memory guard).",
      config::at_least<int64_t>(1));
    v("reduce_decode_above_pixels", reduce_decode_above_pixels,
      "JPEGs above this many pixels are decoded at 1/2, 1/4 or 1/8 scale when that still covers the resize "
      "target (saves memory and time; pixels then differ slightly from a full decode).",
      config::at_least<int64_t>(1));
  }
  void validate(config::Validation& v) const;
};

/// Everything the processor needs, resolved for one model family.
struct ImageProcessorOptions {
  ModelFamily family = ModelFamily::Qwen2VL;
  int64_t patch_size = 14;
  int64_t merge_size = 2;
  int64_t temporal_patch_size = 2;
  std::array<float, 3> mean{0.48145466f, 0.4578275f, 0.40821073f};
  std::array<float, 3> stddev{0.26862954f, 0.26130258f, 0.27577711f};
  int64_t min_pixels = 3136;
  int64_t max_pixels = 12845056;
  DecodeOptions decode;

  /// Side lengths are multiples of this (patch * merge: 28 for Qwen2/2.5-VL, 32 for Qwen3-VL).
  int64_t factor() const { return patch_size * merge_size; }
  /// Features per patch row: C * T * P * P.
  int64_t row_size() const { return 3 * temporal_patch_size * patch_size * patch_size; }

  /// The family's hub preprocessor_config, with the config's overrides applied.
  static ImageProcessorOptions for_family(ModelFamily family, const ImageConfig& config = {});
};

struct ResizeTarget {
  int64_t height = 0;
  int64_t width = 0;
};

/// Hugging Face's smart_resize: sides become multiples of `factor` (Python round-half-even),
/// scaled into [min_pixels, max_pixels] keeping the aspect ratio. Throws UserError(Input)
/// when the aspect ratio exceeds 200 (the processor refuses those images too).
ResizeTarget smart_resize(int64_t height, int64_t width, int64_t factor, int64_t min_pixels, int64_t max_pixels);
/// grid_thw (in patches) of an image of this displayed size.
GridThw image_grid(int64_t height, int64_t width, const ImageProcessorOptions& options);
/// Merged visual tokens (<|image_pad|> count) of an image of this displayed size.
int64_t image_tokens(int64_t height, int64_t width, const ImageProcessorOptions& options);

/// Resizes to the smart_resize target: [h', w', 3] uint8 (the input itself when already there).
at::Tensor resize_for_model(const RgbImage& image, const ImageProcessorOptions& options);
/// Normalizes and patchifies resized [h', w', 3] uint8 pixels (sides multiples of factor()).
ProcessedImage patchify_image(const at::Tensor& resized, const ImageProcessorOptions& options);
/// resize_for_model + patchify_image.
ProcessedImage process_image(const RgbImage& image, const ImageProcessorOptions& options);

/// Decodes (at reduced scale for very large JPEGs: the target size is known from the header) and
/// resizes an encoded image held in memory: [h', w', 3] uint8. Errors name `name`.
at::Tensor decode_and_resize(std::span<const uint8_t> bytes, const std::string& name, const ImageProcessorOptions& options);

/// Reads, decodes (reduced-scale for very large JPEGs) and processes an image file. Errors are
/// UserError(Input) naming the file.
ProcessedImage load_and_process_image(const std::filesystem::path& path, const ImageProcessorOptions& options);
/// Reads, decodes and resizes only: the [h', w', 3] uint8 pixels `data pack` stores.
at::Tensor load_and_resize_image(const std::filesystem::path& path, const ImageProcessorOptions& options);

}  // namespace ec::data
