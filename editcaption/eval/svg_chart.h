// Inline SVG charts for the HTML report, drawn by our own code (no scripts, no external assets):
// line charts of metric curves and grouped bar charts of rates.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ec::eval {

struct LineSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  ///< (x, y), x ascending; non-finite y skipped
};

struct ChartOptions {
  int width = 560;
  int height = 300;
  std::string x_label = "step";
  std::string y_label;
  /// Points per series above which the curve is thinned (min and max of each bucket are kept,
  /// so spikes stay visible).
  size_t max_points = 1200;
};

/// A color of the report's palette (cycled).
const char* chart_color(size_t i);

/// Axis ticks: at most ~`count` "nice" values (1, 2, 5 x 10^k) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int count);

/// An <svg> line chart with axes, grid, ticks and a legend. `id` becomes the element id.
std::string svg_line_chart(const std::string& id, const std::string& title, const std::vector<LineSeries>& series,
                           const ChartOptions& options = {});

struct BarGroup {
  std::string label;           ///< e.g. the failure mode
  std::vector<double> values;  ///< one per bar series (NaN: no bar)
};

/// A grouped bar chart: one group per label, one colored bar per series (e.g. per variant).
/// `percent` formats the axis as percentages of values in [0, 1].
std::string svg_bar_chart(const std::string& id, const std::string& title, const std::vector<std::string>& series_names,
                          const std::vector<BarGroup>& groups, bool percent, const ChartOptions& options = {});

}  // namespace ec::eval
