// The HTML report of `editcaption report`: one self-contained file (inline CSS, inline SVG
// charts, thumbnails as data URLs; no scripts, no network) with the training curves of every
// run, the ablation table in the layout of the paper's table 4 plus the table-3 rates and the
// failure-mode rates, a failure-mode chart per ablation, and a gallery of test pairs.
#pragma once

#include <string>
#include <vector>

#include "editcaption/eval/report_inputs.h"

namespace ec::eval {

struct ReportOptions {
  std::string title = "editcaption report";
  size_t gallery = 12;  ///< test pairs shown per ablation
  int thumb_px = 160;
};

/// Renders the page. Missing optional inputs (a variant's predictions, per-sample scores) leave
/// their cells empty and are listed in the page's notes; they never stop the report.
std::string render_report(const std::vector<RunMetrics>& runs, const std::vector<Ablation>& ablations,
                          const ReportOptions& options);

}  // namespace ec::eval
