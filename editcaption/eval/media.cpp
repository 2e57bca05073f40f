#include "editcaption/eval/media.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <vector>

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"

namespace ec::eval {

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string image_mime(std::string_view b) {
  if (b.starts_with("\x89PNG\r\n\x1a\n")) return "image/png";
  if (b.starts_with("\xFF\xD8\xFF")) return "image/jpeg";
  if (b.size() >= 12 && b.starts_with("RIFF") && b.substr(8, 4) == "WEBP") return "image/webp";
  if (b.starts_with("GIF87a") || b.starts_with("GIF89a")) return "image/gif";
  return "";
}

std::string image_data_url(const std::filesystem::path& path) {
  std::string bytes = read_file(path);
  std::string mime = image_mime(bytes);
  if (mime.empty()) throw EC_USER_ERROR(Input, "'{}' is not a PNG, JPEG, WebP or GIF image", path.string());
  return "data:" + mime + ";base64," + base64_encode(bytes);
}

std::string thumbnail_data_url(const std::filesystem::path& path, int max_side) {
  cv::Mat img;
  try {
    img = cv::imread(path.string(), cv::IMREAD_COLOR);
  } catch (const cv::Exception&) {
    return "";
  }
  if (img.empty()) return "";
  int longest = std::max(img.cols, img.rows);
  if (longest > max_side) {
    double scale = double(max_side) / longest;
    cv::Mat small;
    cv::resize(img, small, cv::Size(std::max(1, int(img.cols * scale + 0.5)), std::max(1, int(img.rows * scale + 0.5))),
               0, 0, cv::INTER_AREA);
    img = small;
  }
  std::vector<uchar> buf;
  if (!cv::imencode(".jpg", img, buf, {cv::IMWRITE_JPEG_QUALITY, 85})) return "";
  return "data:image/jpeg;base64," + base64_encode(std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size()));
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace ec::eval
