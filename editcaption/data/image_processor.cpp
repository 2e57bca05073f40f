#include "editcaption/data/image_processor.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"

namespace ec::data {
namespace {

/// Python's round() on a double: ties go to the even neighbour (std::round goes away from zero).
double round_half_even(double x) {
  double lo = std::floor(x);
  double diff = x - lo;
  if (diff > 0.5) return lo + 1;
  if (diff < 0.5) return lo;
  return std::fmod(lo, 2.0) == 0.0 ? lo : lo + 1;
}

}  // namespace

void ImageConfig::validate(config::Validation& v) const {
  if (min_pixels && max_pixels && *min_pixels > *max_pixels) {
    v.error("min_pixels", "({}) must not exceed max_pixels ({})", *min_pixels, *max_pixels);
  }
}

ImageProcessorOptions ImageProcessorOptions::for_family(ModelFamily family, const ImageConfig& config) {
  ImageProcessorOptions o;
  o.family = family;
  if (family == ModelFamily::Qwen3VL) {
    o.patch_size = 16;
    o.mean = {0.5f, 0.5f, 0.5f};
    o.stddev = {0.5f, 0.5f, 0.5f};
    o.min_pixels = 65536;
    o.max_pixels = 16777216;
  }
  if (config.min_pixels) o.min_pixels = *config.min_pixels;
  if (config.max_pixels) o.max_pixels = *config.max_pixels;
  o.decode.max_decode_pixels = config.max_decode_pixels;
  o.decode.reduce_above_pixels = config.reduce_decode_above_pixels;
  return o;
}

ResizeTarget smart_resize(int64_t height, int64_t width, int64_t factor, int64_t min_pixels, int64_t max_pixels) {
  EC_CHECK(height > 0 && width > 0 && factor > 0, "smart_resize of {}x{} with factor {}", width, height, factor);
  const double h = static_cast<double>(height), w = static_cast<double>(width), f = static_cast<double>(factor);
  const double aspect = static_cast<double>(std::max(height, width)) / static_cast<double>(std::min(height, width));
  if (aspect > 200) {
    throw EC_USER_ERROR(Input, "image of {}x{} pixels has an aspect ratio of {:.1f}; the Qwen-VL processor accepts at most 200",
                        width, height, aspect);
  }
  int64_t h_bar = static_cast<int64_t>(round_half_even(h / f)) * factor;
  int64_t w_bar = static_cast<int64_t>(round_half_even(w / f)) * factor;
  if (h_bar * w_bar > max_pixels) {
    const double beta = std::sqrt(static_cast<double>(height * width) / static_cast<double>(max_pixels));
    h_bar = std::max(factor, static_cast<int64_t>(std::floor(h / beta / f)) * factor);
    w_bar = std::max(factor, static_cast<int64_t>(std::floor(w / beta / f)) * factor);
  } else if (h_bar * w_bar < min_pixels) {
    const double beta = std::sqrt(static_cast<double>(min_pixels) / static_cast<double>(height * width));
    h_bar = static_cast<int64_t>(std::ceil(h * beta / f)) * factor;
    w_bar = static_cast<int64_t>(std::ceil(w * beta / f)) * factor;
  }
  return {h_bar, w_bar};
}

GridThw image_grid(int64_t height, int64_t width, const ImageProcessorOptions& o) {
  ResizeTarget t = smart_resize(height, width, o.factor(), o.min_pixels, o.max_pixels);
  return {1, t.height / o.patch_size, t.width / o.patch_size};
}

int64_t image_tokens(int64_t height, int64_t width, const ImageProcessorOptions& o) {
  GridThw g = image_grid(height, width, o);
  return g[0] * g[1] * g[2] / (o.merge_size * o.merge_size);
}

at::Tensor resize_for_model(const RgbImage& image, const ImageProcessorOptions& o) {
  EC_CHECK(image.pixels.dim() == 3 && image.pixels.size(2) == 3 && image.pixels.scalar_type() == at::kByte,
           "resize_for_model expects [H, W, 3] uint8 pixels");
  // The target comes from the displayed size before any reduced decoding, as a full decode gives.
  const int64_t full_h = image.header.height() > 0 && image.reduction > 1 ? image.header.height() : image.height();
  const int64_t full_w = image.header.width() > 0 && image.reduction > 1 ? image.header.width() : image.width();
  ResizeTarget t = smart_resize(full_h, full_w, o.factor(), o.min_pixels, o.max_pixels);
  if (t.height == image.height() && t.width == image.width()) return image.pixels;
  // [1, 3, H, W] as a channels-last view of the HWC buffer, which is what torchvision passes to
  // the same ATen kernel for a PIL image: bicubic (a = -0.5) with antialiasing when shrinking.
  at::Tensor nchw = image.pixels.permute({2, 0, 1}).unsqueeze(0);
  at::Tensor out = at::_upsample_bicubic2d_aa(nchw, {t.height, t.width}, /*align_corners=*/false);
  return out.squeeze(0).permute({1, 2, 0}).contiguous();
}

ProcessedImage patchify_image(const at::Tensor& resized, const ImageProcessorOptions& o) {
  EC_CHECK(resized.dim() == 3 && resized.size(2) == 3 && resized.scalar_type() == at::kByte,
           "patchify_image expects [H, W, 3] uint8 pixels");
  const int64_t H = resized.size(0), W = resized.size(1);
  const int64_t P = o.patch_size, m = o.merge_size, T = o.temporal_patch_size, C = 3;
  EC_CHECK(H % o.factor() == 0 && W % o.factor() == 0, "image of {}x{} is not a multiple of {}", W, H, o.factor());
  // Rescale and normalize fused as transformers does: (x - mean * 255) / (std * 255) in float32.
  at::Tensor mean = at::tensor(at::ArrayRef<float>(o.mean.data(), 3)) * 255.0;
  at::Tensor stddev = at::tensor(at::ArrayRef<float>(o.stddev.data(), 3)) * 255.0;
  at::Tensor x = resized.permute({2, 0, 1}).to(at::kFloat);
  x.sub_(mean.view({3, 1, 1})).div_(stddev.view({3, 1, 1}));
  const int64_t gh = H / P, gw = W / P;
  // [C, gh/m, m, P, gw/m, m, P] -> [gh/m, gw/m, m, m, C, P, P]; a still image is T identical frames.
  at::Tensor rows = x.reshape({C, gh / m, m, P, gw / m, m, P})
                        .permute({1, 4, 2, 5, 0, 3, 6})
                        .unsqueeze(5)
                        .expand({gh / m, gw / m, m, m, C, T, P, P})
                        .reshape({gh * gw, C * T * P * P});
  ProcessedImage out;
  out.pixel_values = rows.contiguous();
  out.grid_thw = {1, gh, gw};
  return out;
}

ProcessedImage process_image(const RgbImage& image, const ImageProcessorOptions& o) {
  return patchify_image(resize_for_model(image, o), o);
}

at::Tensor decode_and_resize(std::span<const uint8_t> bytes, const std::string& name, const ImageProcessorOptions& o) {
  ImageHeader header = parse_image_header(bytes, name, /*complete=*/false);
  DecodeOptions decode = o.decode;
  try {
    ResizeTarget t = smart_resize(header.height(), header.width(), o.factor(), o.min_pixels, o.max_pixels);
    decode.min_height = t.height;
    decode.min_width = t.width;
  } catch (const UserError& e) {
    throw EC_USER_ERROR(Input, "{}: {}", name, e.what());
  }
  return resize_for_model(decode_image(bytes, name, decode), o);
}

at::Tensor load_and_resize_image(const std::filesystem::path& path, const ImageProcessorOptions& o) {
  const std::string name = path.string();
  std::error_code err;
  if (!std::filesystem::exists(path, err)) throw EC_USER_ERROR(Input, "{}: file not found", name);
  if (std::filesystem::is_directory(path, err)) throw EC_USER_ERROR(Input, "{}: is a directory, not an image", name);
  std::string bytes = read_file(path);
  return decode_and_resize({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, name, o);
}

ProcessedImage load_and_process_image(const std::filesystem::path& path, const ImageProcessorOptions& o) {
  return patchify_image(load_and_resize_image(path, o), o);
}

}  // namespace ec::data
