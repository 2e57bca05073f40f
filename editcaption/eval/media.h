// Embedding images in self-contained outputs: base64, data URLs of image files (judge requests)
// and downscaled thumbnails (HTML review sheets and reports), plus HTML escaping.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace ec::eval {

std::string base64_encode(std::string_view bytes);
/// "image/png", "image/jpeg", "image/webp", "image/gif" from the file's magic bytes; empty if unknown.
std::string image_mime(std::string_view bytes);
/// data:<mime>;base64,... of an image file as it is. Throws UserError(Input) naming the file when
/// it cannot be read or is not a PNG/JPEG/WebP/GIF image.
std::string image_data_url(const std::filesystem::path& path);
/// A JPEG thumbnail (longest side at most `max_side`, EXIF orientation applied) as a data URL.
/// Returns an empty string if the image cannot be decoded (the page shows a placeholder).
std::string thumbnail_data_url(const std::filesystem::path& path, int max_side);

/// Escapes & < > " ' for HTML text and attribute values.
std::string html_escape(std::string_view s);

}  // namespace ec::eval
