// Bad and unusual image inputs (issue 3): truncated JPEG/PNG/WebP, zero-byte and missing files,
// alpha and grey images, 1x1 images, a 10000x10000 JPEG decoded at reduced scale, oversized
// images and extreme aspect ratios. Each must give a UserError(Input) naming the file and the reason.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "editcaption/core/error.h"
#include "editcaption/core/fs.h"
#include "editcaption/data/image.h"
#include "editcaption/data/image_header.h"
#include "editcaption/data/image_processor.h"
#include "tests/common/test_util.h"

namespace ec::data {
namespace {

namespace fs = std::filesystem;

std::string encode(const cv::Mat& m, const std::string& ext, std::vector<int> params = {}) {
  std::vector<uint8_t> buf;
  EXPECT_TRUE(cv::imencode(ext, m, buf, params));
  return std::string(buf.begin(), buf.end());
}

cv::Mat noise(int h, int w, int type, uint64_t seed = 1) {
  cv::Mat m(h, w, type);
  cv::RNG rng(seed);
  rng.fill(m, cv::RNG::UNIFORM, 0, 256);
  return m;
}

/// Runs `f`, expecting a UserError(Input) whose message contains every `parts` string.
template <class F>
void expect_input_error(F&& f, std::vector<std::string> parts) {
  try {
    f();
    FAIL() << "no error thrown; expected one mentioning " << parts[0];
  } catch (const UserError& e) {
    EXPECT_EQ(e.code(), ExitCode::Input);
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

TEST(Image, TruncatedJpegIsRejected) {
  test::TempDir dir;
  std::string jpg = encode(noise(48, 64, CV_8UC3), ".jpg");
  test::write_text(dir / "half.jpg", jpg.substr(0, jpg.size() / 2));
  expect_input_error([&] { read_image(dir / "half.jpg"); }, {"half.jpg", "truncated JPEG"});
  // Only the EOI marker missing: OpenCV alone would decode this with a warning.
  test::write_text(dir / "no_eoi.jpg", jpg.substr(0, jpg.size() - 2));
  expect_input_error([&] { read_image(dir / "no_eoi.jpg"); }, {"no_eoi.jpg", "truncated JPEG"});
  // Bytes after EOI (common in the wild) are fine.
  test::write_text(dir / "trailing.jpg", jpg + std::string(100, '\0'));
  EXPECT_EQ(read_image(dir / "trailing.jpg").width(), 64);
}

TEST(Image, TruncatedPngAndWebpAreRejected) {
  test::TempDir dir;
  std::string png = encode(noise(40, 30, CV_8UC3), ".png");
  test::write_text(dir / "cut.png", png.substr(0, png.size() - 12));  // drops IEND
  expect_input_error([&] { read_image(dir / "cut.png"); }, {"cut.png", "truncated PNG"});
  std::string webp = encode(noise(40, 30, CV_8UC3), ".webp");
  test::write_text(dir / "cut.webp", webp.substr(0, webp.size() * 2 / 3));
  expect_input_error([&] { read_image(dir / "cut.webp"); }, {"cut.webp", "truncated WebP"});
}

TEST(Image, EmptyMissingAndNonImageFiles) {
  test::TempDir dir;
  test::write_text(dir / "empty.jpg", "");
  expect_input_error([&] { read_image(dir / "empty.jpg"); }, {"empty.jpg", "empty file (0 bytes)"});
  expect_input_error([&] { read_image(dir / "missing.png"); }, {"missing.png", "file not found"});
  test::write_text(dir / "text.png", "this is not an image at all");
  expect_input_error([&] { read_image(dir / "text.png"); }, {"text.png", "not a JPEG, PNG or WebP"});
  expect_input_error([&] { probe_image_file(dir / "empty.jpg"); }, {"empty.jpg", "empty file"});
}

TEST(Image, PngWithAlphaDropsAlphaLikePil) {
  test::TempDir dir;
  cv::Mat bgra = noise(20, 30, CV_8UC4, 7);
  test::write_text(dir / "alpha.png", encode(bgra, ".png"));
  EXPECT_EQ(probe_image_file(dir / "alpha.png").channels, 4);
  RgbImage img = read_image(dir / "alpha.png");
  ASSERT_EQ(img.height(), 20);
  ASSERT_EQ(img.width(), 30);
  auto px = img.pixels.accessor<uint8_t, 3>();
  for (int y = 0; y < 20; ++y) {
    for (int x = 0; x < 30; ++x) {
      cv::Vec4b v = bgra.at<cv::Vec4b>(y, x);
      // PIL's convert("RGB") keeps the colour channels and ignores alpha (no compositing).
      ASSERT_EQ(px[y][x][0], v[2]);
      ASSERT_EQ(px[y][x][1], v[1]);
      ASSERT_EQ(px[y][x][2], v[0]);
    }
  }
}

TEST(Image, GreyIsReplicatedToThreeChannels) {
  test::TempDir dir;
  cv::Mat grey = noise(9, 11, CV_8UC1, 3);
  test::write_text(dir / "grey.png", encode(grey, ".png"));
  RgbImage img = read_image(dir / "grey.png");
  auto px = img.pixels.accessor<uint8_t, 3>();
  for (int y = 0; y < 9; ++y) {
    for (int x = 0; x < 11; ++x) {
      for (int c = 0; c < 3; ++c) ASSERT_EQ(px[y][x][c], grey.at<uint8_t>(y, x));
    }
  }
}

TEST(Image, OnePixelImageIsUpscaledToMinPixels) {
  test::TempDir dir;
  cv::Mat one(1, 1, CV_8UC3, cv::Scalar(10, 20, 30));
  test::write_text(dir / "one.png", encode(one, ".png"));
  auto q2 = ImageProcessorOptions::for_family(ModelFamily::Qwen2VL);
  ProcessedImage p = load_and_process_image(dir / "one.png", q2);
  EXPECT_EQ(p.grid_thw, (GridThw{1, 4, 4}));  // 56x56 = min_pixels 3136
  EXPECT_EQ(p.pixel_values.size(0), 16);
  EXPECT_EQ(p.pixel_values.size(1), 1176);
  EXPECT_EQ(p.num_tokens(), 4);
  // A constant image stays constant: red channel (first 392 features) = (30/255 - mean) / std.
  float red = (30.0f / 255.0f - q2.mean[0]) / q2.stddev[0];
  EXPECT_NEAR(p.pixel_values[0][0].item<float>(), red, 1e-5);
  auto q3 = ImageProcessorOptions::for_family(ModelFamily::Qwen3VL);
  EXPECT_EQ(load_and_process_image(dir / "one.png", q3).grid_thw, (GridThw{1, 16, 16}));
}

TEST(Image, HugeJpegIsDecodedAtReducedScale) {
  test::TempDir dir;
  // 10000x10000 (100 MP): a flat grey JPEG with a bright square, cheap to encode.
  cv::Mat big(10000, 10000, CV_8UC1, cv::Scalar(60));
  big(cv::Rect(0, 0, 5000, 5000)).setTo(200);
  std::string jpg = encode(big, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 50});
  big.release();
  test::write_text(dir / "huge.jpg", jpg);
  ImageHeader h = probe_image_file(dir / "huge.jpg");
  EXPECT_EQ(h.width(), 10000);
  EXPECT_EQ(h.height(), 10000);

  ImageConfig cfg;
  cfg.max_pixels = 1003520;  // the transformers class default: 1280 tokens
  auto o = ImageProcessorOptions::for_family(ModelFamily::Qwen2VL, cfg);
  ResizeTarget t = smart_resize(10000, 10000, o.factor(), o.min_pixels, o.max_pixels);
  EXPECT_EQ(t.height, 980);

  DecodeOptions d = o.decode;
  d.min_height = t.height;
  d.min_width = t.width;
  RgbImage img = decode_image({reinterpret_cast<const uint8_t*>(jpg.data()), jpg.size()}, "huge.jpg", d);
  EXPECT_EQ(img.reduction, 8);  // 1250x1250 decoded instead of 10000x10000
  EXPECT_EQ(img.height(), 1250);

  at::Tensor resized = load_and_resize_image(dir / "huge.jpg", o);
  EXPECT_EQ(resized.size(0), 980);
  EXPECT_EQ(resized.size(1), 980);
  EXPECT_NEAR(resized[100][100][0].item<uint8_t>(), 200, 3);
  EXPECT_NEAR(resized[900][900][0].item<uint8_t>(), 60, 3);
  EXPECT_EQ(load_and_process_image(dir / "huge.jpg", o).grid_thw, (GridThw{1, 70, 70}));
}

TEST(Image, OversizedImageIsRefusedBeforeDecoding) {
  test::TempDir dir;
  test::write_text(dir / "big.png", encode(cv::Mat(1200, 1500, CV_8UC3, cv::Scalar(1, 2, 3)), ".png"));
  ImageConfig cfg;
  cfg.max_decode_pixels = 1000000;
  auto o = ImageProcessorOptions::for_family(ModelFamily::Qwen2VL, cfg);
  expect_input_error([&] { load_and_process_image(dir / "big.png", o); },
                     {"big.png", "1500x1200", "exceeds the decode limit", "max_decode_pixels"});
}

TEST(Image, ExtremeAspectRatioIsRejected) {
  test::TempDir dir;
  test::write_text(dir / "thin.png", encode(cv::Mat(1, 300, CV_8UC3, cv::Scalar(0)), ".png"));
  auto o = ImageProcessorOptions::for_family(ModelFamily::Qwen3VL);
  expect_input_error([&] { load_and_process_image(dir / "thin.png", o); }, {"thin.png", "aspect ratio"});
}

TEST(Image, ProbeReadsPastLargeSegments) {
  test::TempDir dir;
  std::string jpg = encode(noise(33, 44, CV_8UC3), ".jpg");
  // Two 60 KB APP2 segments (as big ICC profiles are) between SOI and the frame header.
  std::string app2;
  for (int i = 0; i < 2; ++i) {
    app2 += std::string("\xFF\xE2", 2);
    uint16_t len = 60000;
    app2 += static_cast<char>(len >> 8);
    app2 += static_cast<char>(len & 0xFF);
    app2 += std::string(len - 2, 'x');
  }
  test::write_text(dir / "icc.jpg", jpg.substr(0, 2) + app2 + jpg.substr(2));
  ImageHeader h = probe_image_file(dir / "icc.jpg");
  EXPECT_EQ(h.width(), 44);
  EXPECT_EQ(h.height(), 33);
  EXPECT_EQ(read_image(dir / "icc.jpg").width(), 44);
}

TEST(Image, ProcessorShapesFollowTheSpecChecklist) {
  // ../shared/spec/qwen_vl.md 9.2: 448x448 -> Qwen2 grid (1,32,32), [1024, 1176], 256 tokens;
  // Qwen3 grid (1,28,28), [784, 1536], 196 tokens.
  std::vector<uint8_t> px(448 * 448 * 3, 128);
  RgbImage img = rgb_image_from_pixels(px.data(), 448, 448);
  auto q2 = process_image(img, ImageProcessorOptions::for_family(ModelFamily::Qwen2VL));
  EXPECT_EQ(q2.grid_thw, (GridThw{1, 32, 32}));
  EXPECT_EQ(q2.pixel_values.sizes(), (at::IntArrayRef{1024, 1176}));
  EXPECT_EQ(q2.num_tokens(), 256);
  auto q3 = process_image(img, ImageProcessorOptions::for_family(ModelFamily::Qwen3VL));
  EXPECT_EQ(q3.grid_thw, (GridThw{1, 28, 28}));
  EXPECT_EQ(q3.pixel_values.sizes(), (at::IntArrayRef{784, 1536}));
  EXPECT_EQ(q3.num_tokens(), 196);
  EXPECT_EQ(image_tokens(1080, 1920, ImageProcessorOptions::for_family(ModelFamily::Qwen2VL)), 2691);
  EXPECT_EQ(image_tokens(1080, 1920, ImageProcessorOptions::for_family(ModelFamily::Qwen3VL)), 2040);
}

}  // namespace
}  // namespace ec::data
