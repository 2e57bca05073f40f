// Image decoding with OpenCV: JPEG, PNG and WebP from a file or from bytes to RGB uint8, with the
// EXIF orientation applied and every colour layout brought to three channels the way Hugging
// Face's processors do (PIL `Image.convert("RGB")`: grey is replicated, alpha is dropped, not
// composited). The header is parsed and the file structure checked first (image_header.h), so
// truncated files, empty files and decompression bombs are rejected before any pixel is decoded.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "editcaption/data/image_header.h"

namespace ec::data {

struct DecodeOptions {
  /// Refuse images that would take more pixels than this once decoded (after any reduced
  /// decoding): a guard against decompression bombs and out-of-memory workers.
  int64_t max_decode_pixels = int64_t(8192) * 8192;
  /// JPEGs above this many pixels are decoded at 1/2, 1/4 or 1/8 scale (libjpeg DCT scaling),
  /// the smallest scale still at least `min_width` x `min_height`. Smaller images are always
  /// decoded at full size, so that they match a full decode exactly.
  int64_t reduce_above_pixels = int64_t(4096) * 4096;
  /// The size the caller will resize to (0: unknown, no reduced decoding).
  int64_t min_width = 0, min_height = 0;
};

/// A decoded image: `pixels` is [height, width, 3] uint8 RGB, contiguous.
struct RgbImage {
  at::Tensor pixels;
  ImageHeader header;
  /// 1, or 2/4/8 when the JPEG was decoded at reduced scale.
  int reduction = 1;
  int64_t height() const { return pixels.size(0); }
  int64_t width() const { return pixels.size(1); }
};

/// The scale (1, 2, 4 or 8) decode_image will use for an image with this header.
int decode_reduction(const ImageHeader& header, const DecodeOptions& options);
/// Throws UserError(Input) when the image would exceed options.max_decode_pixels once decoded.
void check_decode_limit(const ImageHeader& header, const DecodeOptions& options, const std::string& name);

/// Decodes an image held in memory; `name` (usually the path) prefixes every error message.
/// Throws UserError(Input) for empty, truncated, malformed, unsupported or oversized images.
RgbImage decode_image(std::span<const uint8_t> bytes, const std::string& name, const DecodeOptions& options = {});

/// Reads and decodes a file; a missing or unreadable file is a UserError(Input) naming it.
RgbImage read_image(const std::filesystem::path& path, const DecodeOptions& options = {});

/// Wraps an RGB uint8 [height, width, 3] buffer (copied) as an RgbImage, for images that come
/// from elsewhere than a file (tests, synthetic data).
RgbImage rgb_image_from_pixels(const uint8_t* data, int64_t height, int64_t width);

}  // namespace ec::data
