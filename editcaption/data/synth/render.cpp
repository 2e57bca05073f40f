#include "editcaption/data/synth/render.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>

#include "editcaption/eval/synthetic_words.h"

namespace ec::data::synth {
namespace {

namespace w = eval::synthetic;

// RGB of each hue (same order as kHues) and background (kBackgrounds).
constexpr std::array<std::array<int, 3>, 6> kHueRgb = {{
    {220, 40, 40},   // red
    {245, 140, 20},  // orange
    {235, 205, 25},  // yellow
    {40, 170, 60},   // green
    {40, 90, 220},   // blue
    {140, 60, 190},  // purple
}};
constexpr std::array<std::array<int, 3>, 4> kBackgroundRgb = {{
    {248, 248, 248},  // white
    {176, 176, 176},  // grey
    {232, 216, 184},  // beige
    {196, 232, 212},  // mint
}};

constexpr double kSmallRadius = 0.09;  // world units (the view is 1 x 1 at zoom 1)
constexpr double kLargeRadius = 0.15;

cv::Scalar bgr(std::array<double, 3> rgb) { return {rgb[2], rgb[1], rgb[0]}; }

std::array<double, 3> shade_rgb(int hue, int shade) {
  std::array<double, 3> c;
  for (int k = 0; k < 3; ++k) {
    double base = kHueRgb[hue][k];
    c[k] = shade == 0 ? base + (255.0 - base) * 0.55 : base * 0.5;
  }
  return c;
}

std::array<double, 3> scaled(std::array<double, 3> c, double f) {
  for (auto& x : c) x = std::clamp(x * f, 0.0, 255.0);
  return c;
}

struct View {
  double cx, cy, zoom, px;  // world centre, zoom, pixels per view width
  cv::Point2d to_px(double wx, double wy) const {
    return {((wx - cx) * zoom + 0.5) * px, ((wy - cy) * zoom + 0.5) * px};
  }
  double len(double world) const { return world * zoom * px; }
};

/// Unit outline of a shape pointing up (y grows downwards), before rotation.
std::vector<cv::Point2d> unit_shape(int shape) {
  std::vector<cv::Point2d> p;
  const std::string_view name = w::kShapes[shape];
  if (name == "circle") {
    for (int i = 0; i < 48; ++i) {
      double a = 2 * M_PI * i / 48;
      p.emplace_back(std::cos(a), std::sin(a));
    }
  } else if (name == "square") {
    p = {{-0.8, -0.8}, {0.8, -0.8}, {0.8, 0.8}, {-0.8, 0.8}};
  } else if (name == "triangle") {
    p = {{0, -1}, {0.9, 0.7}, {-0.9, 0.7}};
  } else if (name == "star") {
    for (int i = 0; i < 10; ++i) {
      double a = -M_PI / 2 + M_PI * i / 5;
      double r = i % 2 == 0 ? 1.0 : 0.45;
      p.emplace_back(r * std::cos(a), r * std::sin(a));
    }
  } else if (name == "heart") {
    // Point downwards, lobes up: a clear orientation.
    for (int i = 0; i < 48; ++i) {
      double t = 2 * M_PI * i / 48;
      double x = 16 * std::pow(std::sin(t), 3);
      double y = 13 * std::cos(t) - 5 * std::cos(2 * t) - 2 * std::cos(3 * t) - std::cos(4 * t);
      p.emplace_back(x / 17.0, -y / 17.0 + 0.1);
    }
  } else if (name == "arrow") {
    p = {{0, -1}, {0.75, -0.15}, {0.28, -0.15}, {0.28, 0.95}, {-0.28, 0.95}, {-0.28, -0.15}, {-0.75, -0.15}};
  } else {  // cross
    double a = 0.32, b = 0.9;
    p = {{-a, -b}, {a, -b}, {a, -a}, {b, -a}, {b, a}, {a, a}, {a, b}, {-a, b}, {-a, a}, {-b, a}, {-b, -a}, {-a, -a}};
  }
  return p;
}

cv::Point2d rotate_cw(cv::Point2d p, int turns) {
  for (int i = 0; i < ((turns % 4) + 4) % 4; ++i) p = {-p.y, p.x};
  return p;
}

void draw_background(cv::Mat& img, const Scene& s, const View& v) {
  const auto& base = kBackgroundRgb[s.background];
  // A gentle diagonal gradient in world coordinates: it shifts with a pan and stretches with a zoom.
  // It depends on x + y only, so one colour per diagonal.
  std::vector<cv::Vec3b> diagonal(static_cast<size_t>(img.rows + img.cols));
  for (size_t d = 0; d < diagonal.size(); ++d) {
    double sum = (static_cast<double>(d) / v.px - 1.0) / v.zoom + v.cx + v.cy;  // wx + wy
    double f = 1.04 - 0.14 * std::clamp(sum / 2.0, -0.5, 1.5);
    diagonal[d] = cv::Vec3b(cv::saturate_cast<uchar>(base[2] * f), cv::saturate_cast<uchar>(base[1] * f),
                            cv::saturate_cast<uchar>(base[0] * f));
  }
  for (int y = 0; y < img.rows; ++y) {
    auto* row = img.ptr<cv::Vec3b>(y);
    for (int x = 0; x < img.cols; ++x) row[x] = diagonal[static_cast<size_t>(x + y)];
  }
  // Grid lines every 0.3 world units (not a multiple of the pan step).
  cv::Scalar line = bgr(scaled({double(base[0]), double(base[1]), double(base[2])}, 0.82));
  int thick = std::max(1, static_cast<int>(std::lround(v.px / 110.0)));
  for (int k = -8; k <= 8; ++k) {
    double wc = 0.05 + 0.3 * k;
    cv::Point2d a = v.to_px(wc, -10), b = v.to_px(wc, 10);
    cv::line(img, {int(std::lround(a.x)), int(std::lround(a.y))}, {int(std::lround(b.x)), int(std::lround(b.y))}, line, thick);
    a = v.to_px(-10, wc);
    b = v.to_px(10, wc);
    cv::line(img, {int(std::lround(a.x)), int(std::lround(a.y))}, {int(std::lround(b.x)), int(std::lround(b.y))}, line, thick);
  }
}

void draw_shape(cv::Mat& img, const Object& o, const View& v) {
  double cx = (o.col + 0.5) / 3.0, cy = (o.row + 0.5) / 3.0;
  double r = o.size == 0 ? kSmallRadius : kLargeRadius;
  std::vector<cv::Point> poly;
  for (auto p : unit_shape(o.shape)) {
    p = rotate_cw(p, o.turns);
    cv::Point2d q = v.to_px(cx + p.x * r, cy + p.y * r);
    poly.emplace_back(int(std::lround(q.x)), int(std::lround(q.y)));
  }
  auto fill = shade_rgb(o.hue, o.shade);
  // Work inside the object's bounding box only.
  cv::Rect box = cv::boundingRect(poly) & cv::Rect(0, 0, img.cols, img.rows);
  if (box.empty()) return;
  for (auto& q : poly) q -= box.tl();
  cv::Mat mask = cv::Mat::zeros(box.size(), CV_8U);
  cv::fillPoly(mask, std::vector<std::vector<cv::Point>>{poly}, cv::Scalar(255));
  cv::Mat layer(box.size(), CV_8UC3, bgr(fill));
  // Patterns live in the object's frame, so they turn with it and scale with the camera.
  auto pattern = o.shade == 0 ? scaled(fill, 0.62) : shade_rgb(o.hue, 0);
  cv::Point2d c = v.to_px(cx, cy) - cv::Point2d(box.tl());
  double rp = v.len(r);
  if (w::kTextures[o.texture] == "striped") {
    double period = v.len(0.045);
    int thick = std::max(1, static_cast<int>(std::lround(period * 0.4)));
    for (double t = -rp; t <= rp; t += period) {
      cv::Point2d a = rotate_cw({-rp, t}, o.turns), b = rotate_cw({rp, t}, o.turns);
      cv::line(layer, {int(std::lround(c.x + a.x)), int(std::lround(c.y + a.y))},
               {int(std::lround(c.x + b.x)), int(std::lround(c.y + b.y))}, bgr(pattern), thick);
    }
  } else if (w::kTextures[o.texture] == "dotted") {
    double period = v.len(0.05);
    int rad = std::max(1, static_cast<int>(std::lround(v.len(0.011))));
    for (double ty = -rp; ty <= rp; ty += period) {
      for (double tx = -rp; tx <= rp; tx += period) {
        cv::Point2d a = rotate_cw({tx, ty}, o.turns);
        cv::circle(layer, {int(std::lround(c.x + a.x)), int(std::lround(c.y + a.y))}, rad, bgr(pattern), cv::FILLED);
      }
    }
  }
  cv::Mat roi = img(box);
  layer.copyTo(roi, mask);
  int thick = std::max(1, static_cast<int>(std::lround(v.px / 110.0)));
  for (auto& q : poly) q += box.tl();
  cv::polylines(img, std::vector<std::vector<cv::Point>>{poly}, true, bgr(scaled(fill, 0.5)), thick);
}

void draw_sign(cv::Mat& img, const Object& o, const View& v) {
  double cx = (o.col + 0.5) / 3.0, cy = (o.row + 0.5) / 3.0;
  cv::Point2d a = v.to_px(cx - 0.14, cy - 0.075), b = v.to_px(cx + 0.14, cy + 0.075);
  cv::Point pa(int(std::lround(a.x)), int(std::lround(a.y))), pb(int(std::lround(b.x)), int(std::lround(b.y)));
  auto fill = shade_rgb(o.hue, o.shade);
  cv::rectangle(img, pa, pb, bgr(fill), cv::FILLED);
  int thick = std::max(1, static_cast<int>(std::lround(v.px / 110.0)));
  cv::rectangle(img, pa, pb, bgr(scaled(fill, 0.5)), thick);
  int base = 0;
  cv::Size ts = cv::getTextSize(o.text, cv::FONT_HERSHEY_SIMPLEX, 1.0, 2 * thick, &base);
  double w_px = pb.x - pa.x, h_px = pb.y - pa.y;
  double scale = std::min(0.82 * w_px / ts.width, 0.62 * h_px / ts.height);
  ts = cv::getTextSize(o.text, cv::FONT_HERSHEY_SIMPLEX, scale, 2 * thick, &base);
  cv::Point org(int(std::lround((pa.x + pb.x - ts.width) / 2.0)), int(std::lround((pa.y + pb.y + ts.height) / 2.0)));
  cv::Scalar ink = o.shade == 0 ? cv::Scalar(20, 20, 20) : cv::Scalar(245, 245, 245);
  cv::putText(img, o.text, org, cv::FONT_HERSHEY_SIMPLEX, scale, ink, 2 * thick, cv::LINE_8);
}

void apply_tone(cv::Mat& img, int brightness, int warmth) {
  if (brightness == 0 && warmth == 0) return;
  for (int y = 0; y < img.rows; ++y) {
    auto* row = img.ptr<cv::Vec3b>(y);
    for (int x = 0; x < img.cols; ++x) {
      for (int k = 0; k < 3; ++k) {
        double v = row[x][k];
        if (brightness > 0) v += (255.0 - v) * 0.35;
        if (brightness < 0) v *= 0.65;
        if (warmth != 0 && k != 1) v += (k == 2 ? 30.0 : -30.0) * warmth;  // BGR: k == 2 is red
        row[x][k] = cv::saturate_cast<uchar>(v);
      }
    }
  }
}

}  // namespace

cv::Mat render(const Scene& s, const RenderOptions& opt) {
  int ss = std::max(1, opt.supersample);
  View v{0.5 + s.camera.dx, 0.5 + s.camera.dy, s.camera.zoom, static_cast<double>(opt.size * ss)};
  cv::Mat big(opt.size * ss, opt.size * ss, CV_8UC3);
  draw_background(big, s, v);
  for (const auto& o : s.objects) {
    if (o.sign) {
      draw_sign(big, o, v);
    } else {
      draw_shape(big, o, v);
    }
  }
  cv::Mat out;
  cv::resize(big, out, cv::Size(opt.size, opt.size), 0, 0, cv::INTER_AREA);
  apply_tone(out, s.brightness, s.warmth);
  return out;
}

}  // namespace ec::data::synth
