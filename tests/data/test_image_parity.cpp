// Decoding and the Qwen-VL image processor against Hugging Face transformers 5.17 (fixture
// tools/reference/qwen_vl_image_processor.py): smart_resize on hundreds of sizes, decoded pixels
// against PIL, and pixel_values against both processor backends (torchvision and PIL).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "editcaption/core/error.h"
#include "editcaption/core/fs.h"
#include "editcaption/data/image.h"
#include "editcaption/data/image_processor.h"
#include "tests/common/test_util.h"

namespace ec::data {
namespace {

namespace fs = std::filesystem;

fs::path fixture() { return test::fixture_dir("qwen_vl_image_processor"); }

nlohmann::json load_json(const fs::path& p) { return nlohmann::json::parse(read_file(p)); }

at::Tensor read_raw(const fs::path& p, at::ScalarType type, at::IntArrayRef shape) {
  std::string bytes = read_file(p);
  at::Tensor t = at::empty(shape, type);
  EXPECT_EQ(bytes.size(), static_cast<size_t>(t.nbytes())) << p;
  std::memcpy(t.data_ptr(), bytes.data(), std::min(bytes.size(), static_cast<size_t>(t.nbytes())));
  return t;
}

ModelFamily family_of(const std::string& name) { return config::parse_enum<ModelFamily>(name, "family"); }

ImageProcessorOptions options_for(const nlohmann::json& c) {
  ImageConfig cfg;
  cfg.min_pixels = c["min_pixels"].get<int64_t>();
  cfg.max_pixels = c["max_pixels"].get<int64_t>();
  return ImageProcessorOptions::for_family(family_of(c["family"]), cfg);
}

/// The largest change of one uint8 level after normalization: 1 / (255 * min std).
double one_level(const ImageProcessorOptions& o) {
  return 1.0 / (255.0 * *std::min_element(o.stddev.begin(), o.stddev.end()));
}

bool is_lossless(const std::string& file) {
  return file.ends_with(".png") || file.find("lossless") != std::string::npos;
}

TEST(ImageParity, SmartResizeMatchesTransformers) {
  auto rows = load_json(fixture() / "smart_resize.json");
  ASSERT_GT(rows.size(), 1000u);
  int checked = 0;
  for (const auto& r : rows) {
    int64_t h = r[0], w = r[1], f = r[2], lo = r[3], hi = r[4], eh = r[5], ew = r[6];
    if (eh < 0) {
      EXPECT_THROW(smart_resize(h, w, f, lo, hi), UserError) << h << "x" << w;
      continue;
    }
    ResizeTarget t = smart_resize(h, w, f, lo, hi);
    ASSERT_EQ(t.height, eh) << "h=" << h << " w=" << w << " factor=" << f << " min=" << lo << " max=" << hi;
    ASSERT_EQ(t.width, ew) << "h=" << h << " w=" << w << " factor=" << f << " min=" << lo << " max=" << hi;
    ++checked;
  }
  EXPECT_GT(checked, 1000);
}

TEST(ImageParity, TieRoundsHalfToEven) {
  // 42/28 = 1.5 -> 2 and 70/28 = 2.5 -> 2 under Python's round (spec 9.6).
  ResizeTarget t = smart_resize(42, 70, 28, 3136, 12845056);
  EXPECT_EQ(t.height, 56);
  EXPECT_EQ(t.width, 56);
}

TEST(ImageParity, DecodeMatchesPil) {
  auto index = load_json(fixture() / "index.json");
  for (const auto& [name, info] : index["images"].items()) {
    SCOPED_TRACE(name);
    RgbImage img = read_image(fixture() / info["file"].get<std::string>());
    int64_t h = info["height"], w = info["width"];
    ASSERT_EQ(img.height(), h);
    ASSERT_EQ(img.width(), w);
    at::Tensor ref = read_raw(fixture() / info["decoded"].get<std::string>(), at::kByte, {h, w, 3});
    int max_diff = (img.pixels.to(at::kInt) - ref.to(at::kInt)).abs().max().item<int>();
    double mean_diff = (img.pixels.to(at::kFloat) - ref.to(at::kFloat)).abs().mean().item<double>();
    if (is_lossless(info["file"])) {
      EXPECT_EQ(max_diff, 0);
    } else {
      // Lossy formats: identical here (Debian 12's libjpeg-turbo and libwebp against Pillow's
      // bundled ones); other library versions may round a few pixels differently (docs/data.md).
      EXPECT_LE(max_diff, 4);
      EXPECT_LE(mean_diff, 0.25);
    }
    RecordProperty(name + "_max_diff", max_diff);
  }
}

TEST(ImageParity, HeaderProbeGivesTheDecodedSize) {
  auto index = load_json(fixture() / "index.json");
  for (const auto& [name, info] : index["images"].items()) {
    ImageHeader h = probe_image_file(fixture() / info["file"].get<std::string>());
    EXPECT_EQ(h.height(), info["height"].get<int64_t>()) << name;
    EXPECT_EQ(h.width(), info["width"].get<int64_t>()) << name;
  }
}

TEST(ImageParity, ProcessorMatchesTransformersGivenThePixels) {
  auto index = load_json(fixture() / "index.json");
  int tv_cases = 0, pil_cases = 0;
  double worst_pil = 0;
  for (const auto& c : index["cases"]) {
    SCOPED_TRACE(c["id"].get<std::string>());
    const auto& info = index["images"][c["image"].get<std::string>()];
    int64_t h = info["height"], w = info["width"];
    at::Tensor rgb = read_raw(fixture() / info["decoded"].get<std::string>(), at::kByte, {h, w, 3});
    ImageProcessorOptions o = options_for(c);
    ProcessedImage p = process_image(rgb_image_from_pixels(rgb.data_ptr<uint8_t>(), h, w), o);
    GridThw grid{c["grid_thw"][0], c["grid_thw"][1], c["grid_thw"][2]};
    ASSERT_EQ(p.grid_thw, grid);
    int64_t rows = c["shape"][0], cols = c["shape"][1];
    ASSERT_EQ(p.pixel_values.size(0), rows);
    ASSERT_EQ(p.pixel_values.size(1), cols);
    at::Tensor ref = read_raw(fixture() / c["file"].get<std::string>(), at::kFloat, {rows, cols});
    double max_diff = (p.pixel_values - ref).abs().max().item<double>();
    if (c["backend"] == "torchvision") {
      // The same ATen resize kernel and the same float32 arithmetic: identical.
      EXPECT_EQ(max_diff, 0.0);
      ++tv_cases;
    } else {
      // PIL resamples in 8-bit fixed point: at most one uint8 level apart.
      EXPECT_LE(max_diff, one_level(o) * 1.0001);
      worst_pil = std::max(worst_pil, max_diff);
      ++pil_cases;
    }
  }
  EXPECT_GT(tv_cases, 20);
  EXPECT_GT(pil_cases, 10);
  RecordProperty("worst_pil_backend_diff", std::to_string(worst_pil));
}

TEST(ImageParity, EndToEndFromFiles) {
  auto index = load_json(fixture() / "index.json");
  for (const auto& c : index["cases"]) {
    if (c["backend"] != "torchvision") continue;
    SCOPED_TRACE(c["id"].get<std::string>());
    const auto& info = index["images"][c["image"].get<std::string>()];
    ImageProcessorOptions o = options_for(c);
    ProcessedImage p = load_and_process_image(fixture() / info["file"].get<std::string>(), o);
    GridThw grid{c["grid_thw"][0], c["grid_thw"][1], c["grid_thw"][2]};
    ASSERT_EQ(p.grid_thw, grid);
    int64_t rows = c["shape"][0], cols = c["shape"][1];
    at::Tensor ref = read_raw(fixture() / c["file"].get<std::string>(), at::kFloat, {rows, cols});
    double max_diff = (p.pixel_values - ref).abs().max().item<double>();
    double mean_diff = (p.pixel_values - ref).abs().mean().item<double>();
    if (is_lossless(info["file"])) {
      EXPECT_EQ(max_diff, 0.0);
    } else {
      EXPECT_LE(max_diff, 4 * one_level(o));
      EXPECT_LE(mean_diff, 0.25 * one_level(o));
    }
  }
}

}  // namespace
}  // namespace ec::data
