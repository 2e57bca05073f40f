// `editcaption report RUN_DIR... [--out report.html] [--ablation FILE]... [--title T] [--gallery N]
// [--tensorboard DIR]`: one self-contained HTML report of training runs and ablations.
// A RUN_DIR contributes its metrics.jsonl and ablation.json; a directory holding neither is
// searched one level down (e.g. runs/ with one directory per variant).
#include <algorithm>
#include <iostream>

#include "editcaption/cli/command.h"
#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/log.h"
#include "editcaption/core/strings.h"
#include "editcaption/core/tfevents.h"
#include "editcaption/eval/report_html.h"

namespace ec::cli {
namespace fs = std::filesystem;

namespace {

struct ReportArgs {
  std::vector<std::string> dirs, ablations;
  std::string out = "report.html", title = "editcaption report", tensorboard;
  size_t gallery = 12;
};

void collect(const fs::path& dir, std::vector<fs::path>& run_dirs, std::vector<fs::path>& ablation_files) {
  if (fs::is_regular_file(dir) && dir.extension() == ".json") {
    ablation_files.push_back(dir);
    return;
  }
  EC_USER_CHECK(fs::is_directory(dir), Input, "report: '{}' is not a directory", dir.string());
  bool found = false;
  if (fs::exists(dir / "metrics.jsonl")) {
    run_dirs.push_back(dir);
    found = true;
  }
  if (fs::exists(dir / "ablation.json")) {
    ablation_files.push_back(dir / "ablation.json");
    found = true;
  }
  if (found) return;
  std::vector<fs::path> subs;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_directory()) subs.push_back(e.path());
  }
  std::sort(subs.begin(), subs.end());
  for (const auto& s : subs) {
    if (fs::exists(s / "metrics.jsonl")) run_dirs.push_back(s), found = true;
    if (fs::exists(s / "ablation.json")) ablation_files.push_back(s / "ablation.json"), found = true;
  }
  if (!found) log::warn("report: no metrics.jsonl or ablation.json in '{}' or its subdirectories", dir.string());
}

int run_report(const ReportArgs& a) {
  std::vector<fs::path> run_dirs, ablation_files;
  for (const auto& d : a.dirs) collect(d, run_dirs, ablation_files);
  for (const auto& f : a.ablations) ablation_files.emplace_back(f);
  EC_USER_CHECK(!run_dirs.empty() || !ablation_files.empty(), Input,
                "report: found no metrics.jsonl or ablation.json in {}", join(a.dirs, ", "));
  std::vector<eval::RunMetrics> runs;
  for (const auto& d : run_dirs) runs.push_back(eval::read_run_metrics(d));
  // Two runs with the same directory name (a/sft, b/sft) get their parent's name as well.
  for (auto& r : runs) {
    long same = std::count_if(runs.begin(), runs.end(), [&](const auto& o) { return o.dir.filename() == r.dir.filename(); });
    if (same > 1) r.name = (fs::absolute(r.dir).lexically_normal().parent_path().filename() / r.dir.filename()).string();
  }
  std::vector<eval::Ablation> ablations;
  for (const auto& f : ablation_files) ablations.push_back(eval::read_ablation(f));

  eval::ReportOptions opt;
  opt.title = a.title;
  opt.gallery = a.gallery;
  std::string html = eval::render_report(runs, ablations, opt);
  fs::path out(a.out);
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  write_file_atomic(out, html);
  std::cout << fmt::format("report: {} run(s), {} ablation(s) -> {} ({})\n", runs.size(), ablations.size(),
                           out.string(), human_bytes(static_cast<double>(html.size())));
  if (!a.tensorboard.empty()) {
    for (const auto& r : runs) {
      TfEventsWriter w(fs::path(a.tensorboard) / r.name);
      for (const auto& rec : r.records) w.add_metrics_record(rec);
      std::cout << fmt::format("tensorboard: {} records -> {}\n", r.records.size(), w.path().string());
    }
  }
  return 0;
}

}  // namespace

void register_report(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("report", "Write a self-contained HTML report: curves, ablation table, failure "
                                           "modes and a gallery of test pairs");
  auto a = std::make_shared<ReportArgs>();
  cmd->add_option("run_dirs", a->dirs, "Run directories (metrics.jsonl, ablation.json), or their parent")->required();
  cmd->add_option("--out", a->out, "Output HTML file")->capture_default_str();
  cmd->add_option("--ablation", a->ablations, "An ablation.json outside the run directories (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--title", a->title, "Page title")->capture_default_str();
  cmd->add_option("--gallery", a->gallery, "Test pairs shown in the gallery per ablation")->capture_default_str();
  cmd->add_option("--tensorboard", a->tensorboard,
                  "Also write each run's metrics as TensorBoard events under DIR/<run name>/");
  cmd->callback([&ctx, a] { ctx.action = [a] { return run_report(*a); }; });
}

}  // namespace ec::cli
