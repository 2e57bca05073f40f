#include "editcaption/data/image.h"

#include <ATen/ATen.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstring>

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"

namespace ec::data {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Brings stored pixels to display orientation (EXIF 2..8), as PIL's ImageOps.exif_transpose.
cv::Mat apply_orientation(const cv::Mat& in, int orientation) {
  cv::Mat out;
  switch (orientation) {
    case 2: cv::flip(in, out, 1); break;
    case 3: cv::flip(in, out, -1); break;
    case 4: cv::flip(in, out, 0); break;
    case 5: cv::transpose(in, out); break;
    case 6: cv::rotate(in, out, cv::ROTATE_90_CLOCKWISE); break;
    case 7: {
      cv::Mat t;
      cv::transpose(in, t);
      cv::flip(t, out, -1);
      break;
    }
    case 8: cv::rotate(in, out, cv::ROTATE_90_COUNTERCLOCKWISE); break;
    default: out = in; break;
  }
  return out;
}

int reduced_flag(int reduction) {
  switch (reduction) {
    case 2: return cv::IMREAD_REDUCED_COLOR_2;
    case 4: return cv::IMREAD_REDUCED_COLOR_4;
    case 8: return cv::IMREAD_REDUCED_COLOR_8;
    default: return cv::IMREAD_COLOR;
  }
}

}  // namespace

int decode_reduction(const ImageHeader& h, const DecodeOptions& options) {
  if (h.format != ImageFormat::Jpeg || h.stored_width * h.stored_height <= options.reduce_above_pixels ||
      options.min_width <= 0 || options.min_height <= 0) {
    return 1;
  }
  for (int r : {8, 4, 2}) {
    // libjpeg's scaled size is ceil(size / r).
    if (ceil_div(h.width(), r) >= options.min_width && ceil_div(h.height(), r) >= options.min_height) return r;
  }
  return 1;
}

void check_decode_limit(const ImageHeader& h, const DecodeOptions& options, const std::string& name) {
  const int r = decode_reduction(h, options);
  if (ceil_div(h.stored_width, r) * ceil_div(h.stored_height, r) <= options.max_decode_pixels) return;
  throw EC_USER_ERROR(Input,
                      "{}: {} image of {}x{} pixels ({:.1f} MP) exceeds the decode limit of {:.1f} MP "
                      "(data.image.max_decode_pixels){}",
                      name, format_name(h.format), h.stored_width, h.stored_height, h.stored_width * h.stored_height / 1e6,
                      options.max_decode_pixels / 1e6,
                      h.format == ImageFormat::Jpeg ? "" : "; only JPEGs can be decoded at reduced size");
}

RgbImage decode_image(std::span<const uint8_t> bytes, const std::string& name, const DecodeOptions& options) {
  ImageHeader h = parse_image_header(bytes, name, /*complete=*/true);
  const char* fmt_name = format_name(h.format);

  const int reduction = decode_reduction(h, options);
  const int64_t out_w = ceil_div(h.stored_width, reduction), out_h = ceil_div(h.stored_height, reduction);
  check_decode_limit(h, options, name);

  // OpenCV reads from the caller's buffer without copying it.
  cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<uint8_t*>(bytes.data()));
  cv::Mat bgr;
  try {
    bgr = cv::imdecode(encoded, reduced_flag(reduction) | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception& e) {
    throw EC_USER_ERROR(Input, "{}: the {} decoder failed: {}", name, fmt_name, e.what());
  }
  if (bgr.empty()) throw EC_USER_ERROR(Input, "{}: the {} decoder could not read the image data", name, fmt_name);
  if (bgr.type() != CV_8UC3 || bgr.cols != out_w || bgr.rows != out_h) {
    throw EC_USER_ERROR(Input, "{}: the {} decoder returned {}x{} pixels of type {}, the header says {}x{}", name, fmt_name,
                        bgr.cols, bgr.rows, bgr.type(), out_w, out_h);
  }
  cv::Mat oriented = apply_orientation(bgr, h.orientation);

  RgbImage img;
  img.header = h;
  img.reduction = reduction;
  img.pixels = at::empty({oriented.rows, oriented.cols, 3}, at::kByte);
  cv::Mat rgb(oriented.rows, oriented.cols, CV_8UC3, img.pixels.data_ptr());
  cv::cvtColor(oriented, rgb, cv::COLOR_BGR2RGB);
  return img;
}

RgbImage read_image(const std::filesystem::path& path, const DecodeOptions& options) {
  const std::string name = path.string();
  std::error_code err;
  if (!std::filesystem::exists(path, err)) throw EC_USER_ERROR(Input, "{}: file not found", name);
  if (std::filesystem::is_directory(path, err)) throw EC_USER_ERROR(Input, "{}: is a directory, not an image", name);
  std::string bytes = read_file(path);
  return decode_image({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, name, options);
}

RgbImage rgb_image_from_pixels(const uint8_t* data, int64_t height, int64_t width) {
  EC_CHECK(height > 0 && width > 0, "empty image {}x{}", width, height);
  RgbImage img;
  img.header.format = ImageFormat::Png;
  img.header.stored_width = width;
  img.header.stored_height = height;
  img.pixels = at::empty({height, width, 3}, at::kByte);
  std::memcpy(img.pixels.data_ptr(), data, static_cast<size_t>(height * width * 3));
  return img;
}

}  // namespace ec::data
