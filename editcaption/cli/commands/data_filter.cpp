// `editcaption data filter MANIFEST --out OUT [--min FIELD=VALUE]... [--max FIELD=VALUE]...
// [--scores SCORES.jsonl] [--keep-missing] [--report REPORT.json]`: keeps the records whose score
// fields pass every threshold and reports what was dropped and why.
#include <iostream>

#include "editcaption/cli/command.h"
#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/strings.h"
#include "editcaption/eval/filter.h"

namespace ec::cli {
namespace fs = std::filesystem;

namespace {

struct FilterArgs {
  std::string manifest, out, scores, report;
  std::vector<std::string> mins, maxs;
  bool keep_missing = false;
};

int run_data_filter(const FilterArgs& a) {
  eval::FilterOptions opt;
  for (const auto& m : a.mins) opt.thresholds.push_back(eval::parse_threshold(m, true));
  for (const auto& m : a.maxs) opt.thresholds.push_back(eval::parse_threshold(m, false));
  EC_USER_CHECK(!opt.thresholds.empty(), Usage, "data filter: give at least one --min or --max threshold");
  opt.scores = a.scores;
  opt.keep_missing = a.keep_missing;
  fs::path out(a.out);
  EC_USER_CHECK(fs::weakly_canonical(fs::absolute(out)) != fs::weakly_canonical(fs::absolute(a.manifest)), Usage,
                "data filter: --out must differ from the input manifest");
  eval::FilterResult res = eval::filter_manifest(a.manifest, out, opt);
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  write_file_atomic(out, res.output);
  fs::path report = a.report.empty() ? fs::path(out.string() + ".filter_report.json") : fs::path(a.report);
  nlohmann::ordered_json j = res.report();
  j["manifest"] = a.manifest;
  j["output"] = out.string();
  nlohmann::ordered_json th = nlohmann::ordered_json::array();
  for (const auto& t : opt.thresholds) th.push_back(t.describe());
  j["thresholds"] = th;
  write_file_atomic(report, j.dump(2) + "\n");

  std::cout << fmt::format("kept {} of {} records ({} dropped) -> {}\n", res.kept, res.total, res.dropped.size(),
                           out.string());
  if (!res.reason_counts.empty()) {
    std::cout << "dropped records by reason (a record may fail several):\n";
    for (const auto& [reason, n] : res.reason_counts) std::cout << fmt::format("  {:>7}  {}\n", n, reason);
  }
  constexpr size_t kShown = 20;
  for (size_t i = 0; i < res.dropped.size() && i < kShown; ++i) {
    const auto& d = res.dropped[i];
    std::cout << fmt::format("  {}:{}: {}{}\n", a.manifest, d.line, d.id.empty() ? "" : "'" + d.id + "': ",
                             join(d.reasons, "; "));
  }
  if (res.dropped.size() > kShown) std::cout << fmt::format("  ... and {} more\n", res.dropped.size() - kShown);
  std::cout << "report: " << report.string() << "\n";
  return 0;
}

}  // namespace

void register_data_filter(CLI::App& app, Context& ctx) {
  auto* group = command_group(app, "data", "Manifests: check, pack, filter, review sheets");
  auto* cmd = group->add_subcommand("filter", "Keep the records whose score fields pass thresholds; report the rest");
  auto a = std::make_shared<FilterArgs>();
  cmd->add_option("manifest", a->manifest, "Input manifest (JSONL)")->required();
  cmd->add_option("--out", a->out, "Output manifest (the kept records)")->required();
  cmd->add_option("--min", a->mins, "Keep records with FIELD >= VALUE (repeatable; dotted paths; scores.X for --scores)")
      ->type_name("FIELD=VALUE")
      ->allow_extra_args(false);
  cmd->add_option("--max", a->maxs, "Keep records with FIELD <= VALUE (repeatable)")
      ->type_name("FIELD=VALUE")
      ->allow_extra_args(false);
  cmd->add_option("--scores", a->scores, "Per-record scores to join by id (JSONL with `id`), visible as scores.<field>");
  cmd->add_flag("--keep-missing", a->keep_missing, "Keep records that lack a thresholded field (default: drop them)");
  cmd->add_option("--report", a->report, "Report file (default: OUT.filter_report.json)");
  cmd->callback([&ctx, a] { ctx.action = [a] { return run_data_filter(*a); }; });
}

}  // namespace ec::cli
