#include "editcaption/eval/svg_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "editcaption/eval/media.h"

namespace ec::eval {

namespace {

constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                    "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};

// Compact tick labels: 0.0001 -> 1e-04, 12000 -> 12k, 0.25 -> 0.25.
std::string tick_label(double v, double step) {
  if (v == 0) return "0";
  double a = std::fabs(v);
  if (a >= 1e6 || a < 1e-3) return fmt::format("{:.2g}", v);
  if (a >= 1e4) return fmt::format("{:g}k", v / 1000);
  int decimals = step >= 1 ? 0 : std::min(6, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
  return fmt::format("{:.{}f}", v, decimals);
}

std::vector<std::pair<double, double>> thin(const std::vector<std::pair<double, double>>& pts, size_t max_points) {
  if (pts.size() <= max_points || max_points < 4) return pts;
  std::vector<std::pair<double, double>> out;
  size_t buckets = max_points / 2;
  double per = static_cast<double>(pts.size()) / buckets;
  for (size_t b = 0; b < buckets; ++b) {
    size_t lo = static_cast<size_t>(b * per), hi = std::min(pts.size(), static_cast<size_t>((b + 1) * per));
    if (lo >= hi) continue;
    auto [mn, mx] = std::minmax_element(pts.begin() + lo, pts.begin() + hi,
                                        [](const auto& a, const auto& c) { return a.second < c.second; });
    if (mn->first <= mx->first) {
      out.push_back(*mn);
      if (mx != mn) out.push_back(*mx);
    } else {
      out.push_back(*mx);
      out.push_back(*mn);
    }
  }
  if (out.back() != pts.back()) out.push_back(pts.back());
  return out;
}

struct Frame {
  double x0, x1, y0, y1;  // data range
  double left, top, right, bottom;  // plot area in pixels
  double px(double x) const { return left + (x1 > x0 ? (x - x0) / (x1 - x0) : 0.5) * (right - left); }
  double py(double y) const { return bottom - (y1 > y0 ? (y - y0) / (y1 - y0) : 0.5) * (bottom - top); }
};

}  // namespace

const char* chart_color(size_t i) { return kPalette[i % (sizeof(kPalette) / sizeof(kPalette[0]))]; }

std::vector<double> nice_ticks(double lo, double hi, int count) {
  if (!(hi > lo) || count < 1) return {lo};
  double raw = (hi - lo) / count;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

std::string svg_line_chart(const std::string& id, const std::string& title, const std::vector<LineSeries>& series,
                           const ChartOptions& o) {
  double inf = std::numeric_limits<double>::infinity();
  double x0 = inf, x1 = -inf, y0 = inf, y1 = -inf;
  std::vector<std::vector<std::pair<double, double>>> curves;
  for (const auto& s : series) {
    std::vector<std::pair<double, double>> pts;
    for (const auto& p : s.points) {
      if (!std::isfinite(p.first) || !std::isfinite(p.second)) continue;
      pts.push_back(p);
      x0 = std::min(x0, p.first);
      x1 = std::max(x1, p.first);
      y0 = std::min(y0, p.second);
      y1 = std::max(y1, p.second);
    }
    curves.push_back(thin(pts, o.max_points));
  }
  size_t legend_rows = (series.size() + 2) / 3;
  int height = o.height + static_cast<int>(legend_rows) * 16 + 14;
  std::string svg = fmt::format(
      "<svg id=\"{}\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\">\n<title>{}</title>\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
      "<text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
      html_escape(id), o.width, height, o.width, height, html_escape(title), html_escape(title), o.width / 2,
      html_escape(title));
  if (!(x1 >= x0)) {
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#888\">no data</text>\n</svg>\n",
                       o.width / 2, o.height / 2);
    return svg;
  }
  if (y1 == y0) {
    double pad = y0 == 0 ? 1.0 : std::fabs(y0) * 0.05;
    y0 -= pad;
    y1 += pad;
  } else {
    double pad = (y1 - y0) * 0.05;
    y0 -= pad;
    y1 += pad;
  }
  Frame f{x0, x1, y0, y1, 64.0, 30.0, o.width - 16.0, o.height - 40.0};
  auto yt = nice_ticks(y0, y1, 5), xt = nice_ticks(x0, x1, 6);
  double ystep = yt.size() > 1 ? yt[1] - yt[0] : 1, xstep = xt.size() > 1 ? xt[1] - xt[0] : 1;
  for (double t : yt) {
    double y = f.py(t);
    if (y < f.top - 0.5 || y > f.bottom + 0.5) continue;
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e5e5e5\"/>"
                       "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" font-size=\"11\" fill=\"#444\">{}</text>\n",
                       f.left, y, f.right, y, f.left - 6, y + 4, tick_label(t, ystep));
  }
  for (double t : xt) {
    double x = f.px(t);
    if (x < f.left - 0.5 || x > f.right + 0.5) continue;
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#f0f0f0\"/>"
                       "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"11\" fill=\"#444\">{}</text>\n",
                       x, f.top, x, f.bottom, x, f.bottom + 15, tick_label(t, xstep));
  }
  svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" stroke=\"#999\"/>\n",
                     f.left, f.top, f.right - f.left, f.bottom - f.top);
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"12\" fill=\"#444\">{}</text>\n",
                     (f.left + f.right) / 2, f.bottom + 32, html_escape(o.x_label));
  if (!o.y_label.empty()) {
    svg += fmt::format("<text transform=\"translate(14 {:.1f}) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\" "
                       "fill=\"#444\">{}</text>\n",
                       (f.top + f.bottom) / 2, html_escape(o.y_label));
  }
  for (size_t i = 0; i < curves.size(); ++i) {
    const auto& pts = curves[i];
    if (pts.empty()) continue;
    if (pts.size() == 1) {
      svg += fmt::format("<circle class=\"series\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n",
                         f.px(pts[0].first), f.py(pts[0].second), chart_color(i));
      continue;
    }
    std::string d;
    for (const auto& [x, y] : pts) d += fmt::format("{:.1f},{:.1f} ", f.px(x), f.py(y));
    svg += fmt::format("<polyline class=\"series\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\" points=\"{}\"/>\n",
                       chart_color(i), d);
  }
  for (size_t i = 0; i < series.size(); ++i) {
    double lx = 64 + static_cast<double>(i % 3) * ((o.width - 80) / 3.0);
    double ly = o.height + 10 + static_cast<double>(i / 3) * 16;
    svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"12\" height=\"4\" fill=\"{}\"/>"
                       "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\">{}</text>\n",
                       lx, ly - 6, chart_color(i), lx + 16, ly, html_escape(series[i].name));
  }
  svg += "</svg>\n";
  return svg;
}

std::string svg_bar_chart(const std::string& id, const std::string& title, const std::vector<std::string>& names,
                          const std::vector<BarGroup>& groups, bool percent, const ChartOptions& o) {
  double vmax = 0;
  for (const auto& g : groups) {
    for (double v : g.values) {
      if (std::isfinite(v)) vmax = std::max(vmax, v);
    }
  }
  if (vmax <= 0) vmax = percent ? 0.1 : 1.0;
  auto ticks = nice_ticks(0, vmax * 1.08, 5);
  double top_value = std::max(ticks.back(), vmax);
  size_t legend_rows = (names.size() + 2) / 3;
  int height = o.height + static_cast<int>(legend_rows) * 16 + 14;
  Frame f{0, 1, 0, top_value, 64.0, 30.0, o.width - 16.0, o.height - 40.0};
  std::string svg = fmt::format(
      "<svg id=\"{}\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\">\n<title>{}</title>\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
      "<text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
      html_escape(id), o.width, height, o.width, height, html_escape(title), html_escape(title), o.width / 2,
      html_escape(title));
  double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
  for (double t : ticks) {
    double y = f.py(t);
    std::string label = percent ? fmt::format("{:g}%", std::round(t * 1000) / 10) : tick_label(t, step);
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e5e5e5\"/>"
                       "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" font-size=\"11\" fill=\"#444\">{}</text>\n",
                       f.left, y, f.right, y, f.left - 6, y + 4, label);
  }
  double group_w = groups.empty() ? 0 : (f.right - f.left) / groups.size();
  double bar_w = names.empty() ? 0 : std::min(40.0, group_w * 0.8 / names.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    double gx = f.left + g * group_w + (group_w - bar_w * names.size()) / 2;
    for (size_t s = 0; s < groups[g].values.size() && s < names.size(); ++s) {
      double v = groups[g].values[s];
      if (!std::isfinite(v)) continue;
      double y = f.py(v);
      std::string value = percent ? fmt::format("{:.1f}%", v * 100) : fmt::format("{:.3g}", v);
      svg += fmt::format("<rect class=\"bar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\">"
                         "<title>{}: {}</title></rect>\n",
                         gx + s * bar_w, y, bar_w * 0.92, f.bottom - y, chart_color(s), html_escape(names[s]), value);
    }
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"12\" fill=\"#444\">{}</text>\n",
                       f.left + (g + 0.5) * group_w, f.bottom + 16, html_escape(groups[g].label));
  }
  svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#999\"/>\n", f.left,
                     f.bottom, f.right, f.bottom);
  for (size_t i = 0; i < names.size(); ++i) {
    double lx = 64 + static_cast<double>(i % 3) * ((o.width - 80) / 3.0);
    double ly = o.height + 10 + static_cast<double>(i / 3) * 16;
    svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"12\" height=\"8\" fill=\"{}\"/>"
                       "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\">{}</text>\n",
                       lx, ly - 8, chart_color(i), lx + 16, ly, html_escape(names[i]));
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace ec::eval
