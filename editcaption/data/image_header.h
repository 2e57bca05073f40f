// Image file headers read without decoding pixels: format, stored size, channels and the EXIF
// orientation, plus a structural check of the whole file (a JPEG must reach its EOI marker, a PNG
// its IEND chunk, a WebP its RIFF size). Decoders accept truncated files with a warning and
// return grey or partial pixels; this check is what rejects them. Sizes known from headers alone
// also give visual-token counts (and sampler lengths) without decoding anything.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace ec::data {

enum class ImageFormat { Jpeg, Png, Webp };
const char* format_name(ImageFormat format);

struct ImageHeader {
  ImageFormat format = ImageFormat::Jpeg;
  /// Size as stored in the file.
  int64_t stored_width = 0, stored_height = 0;
  /// Channels as stored: 1 grey, 2 grey+alpha, 3 colour, 4 colour+alpha (palette PNGs: 3, or 4 with tRNS).
  int channels = 3;
  /// EXIF orientation 1..8 (1: as stored). Read from JPEG APP1, PNG eXIf and WebP EXIF.
  int orientation = 1;

  /// Size as displayed, after the EXIF orientation (5..8 swap the axes).
  int64_t width() const { return orientation >= 5 ? stored_height : stored_width; }
  int64_t height() const { return orientation >= 5 ? stored_width : stored_height; }
};

/// Parses the header of an image held in memory. With `complete` true `bytes` is the whole file
/// and its structure is checked to the end; with false it may be a prefix (only the header is
/// read). Throws UserError(Input) "<name>: <reason>" for empty, unknown, malformed or truncated data.
ImageHeader parse_image_header(std::span<const uint8_t> bytes, const std::string& name, bool complete = true);

/// Reads only as much of a file as its header needs (the whole file only when the header is
/// large, e.g. big ICC or EXIF segments in front of a JPEG frame). No structural check.
ImageHeader probe_image_file(const std::filesystem::path& path);

}  // namespace ec::data
