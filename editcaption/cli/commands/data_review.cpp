// `editcaption data review-export MANIFEST --predictions P --out DIR [--thumb PX]` writes a review
// sheet (review.csv + self-contained review.html); `editcaption data review-import SHEET.csv --out
// FILE --mode sft|dpo [--strict]` turns the filled sheet into SFT records or DPO pairs and reports
// every row it left out with its row number.
#include <iostream>

#include "editcaption/cli/command.h"
#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/log.h"
#include "editcaption/eval/review.h"

namespace ec::cli {
namespace fs = std::filesystem;

namespace {

struct ExportArgs {
  std::string manifest, predictions, out;
  int thumb_px = 256;
};

struct ImportArgs {
  std::string sheet, out, mode;
  bool strict = false;
};

int run_export(const ExportArgs& a) {
  eval::PairManifest manifest = eval::read_pair_manifest(a.manifest);
  for (const auto& p : manifest.problems) {
    log::warn("{}:{}: {}{} (skipped)", a.manifest, p.line, p.id.empty() ? "" : "record '" + p.id + "': ", p.reason);
  }
  auto predictions = eval::read_prediction_map(a.predictions);
  auto res = eval::export_review_sheet(manifest, predictions, a.out, a.thumb_px);
  EC_USER_CHECK(res.rows > 0, Input, "no record of {} has a prediction in {}", a.manifest, a.predictions);
  if (!res.missing_predictions.empty()) {
    log::warn("{} manifest record(s) have no prediction and are not in the sheet (first: '{}')",
              res.missing_predictions.size(), res.missing_predictions.front());
  }
  std::cout << fmt::format("review sheet with {} rows: {} and {}\n", res.rows, res.csv.string(), res.html.string());
  return 0;
}

int run_import(const ImportArgs& a) {
  EC_USER_CHECK(a.mode == "sft" || a.mode == "dpo", Usage, "--mode must be sft or dpo, got '{}'", a.mode);
  auto mode = a.mode == "sft" ? eval::ReviewMode::Sft : eval::ReviewMode::Dpo;
  fs::path out(a.out);
  auto res = eval::import_review_sheet(a.sheet, mode, out);
  std::string lines;
  for (const auto& r : res.records) lines += r.dump() + "\n";
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  write_file_atomic(out, lines);
  std::cout << fmt::format("{} of {} rows -> {} {} records in {}\n", res.records.size(), res.rows, res.records.size(),
                           a.mode, out.string());
  if (mode == eval::ReviewMode::Sft && res.accepted_as_is) {
    std::cout << fmt::format("{} row(s) accept the model's instruction as is (error_type none)\n", res.accepted_as_is);
  }
  if (mode == eval::ReviewMode::Dpo && res.no_error) {
    std::cout << fmt::format("{} row(s) marked error_type none: the model was right, no preference pair\n", res.no_error);
  }
  if (!res.problems.empty()) {
    std::cout << fmt::format("{} row(s) left out:\n", res.problems.size());
    for (const auto& p : res.problems) {
      std::cout << fmt::format("  {} row {} (line {}){}: {}\n", a.sheet, p.row, p.line,
                               p.id.empty() ? "" : " id '" + p.id + "'", p.reason);
    }
    EC_USER_CHECK(!a.strict, Input, "{}: {} row(s) could not be imported (--strict)", a.sheet, res.problems.size());
  }
  return 0;
}

}  // namespace

void register_data_review(CLI::App& app, Context& ctx) {
  auto* group = command_group(app, "data", "Manifests: check, pack, filter, review sheets");

  auto* exp = group->add_subcommand("review-export",
                                    "Write a review sheet (CSV + self-contained HTML with thumbnails) for human refinement");
  auto e = std::make_shared<ExportArgs>();
  exp->add_option("manifest", e->manifest, "Manifest of the pairs to review (JSONL)")->required();
  exp->add_option("--predictions", e->predictions, "Model instructions to review (JSONL: id, instruction)")->required();
  exp->add_option("--out", e->out, "Output directory (review.csv, review.html)")->required();
  exp->add_option("--thumb", e->thumb_px, "Thumbnail size in pixels (longest side)")->check(CLI::Range(16, 2048));
  exp->callback([&ctx, e] { ctx.action = [e] { return run_export(*e); }; });

  auto* imp = group->add_subcommand("review-import", "Turn a filled review sheet into SFT records or DPO pairs");
  auto i = std::make_shared<ImportArgs>();
  imp->add_option("sheet", i->sheet, "The filled review.csv")->required();
  imp->add_option("--out", i->out, "Output manifest (JSONL)")->required();
  imp->add_option("--mode", i->mode, "sft: corrected instructions; dpo: chosen = correction, rejected = model output")
      ->required();
  imp->add_flag("--strict", i->strict, "Exit with code 3 if any row could not be imported");
  imp->callback([&ctx, i] { ctx.action = [i] { return run_import(*i); }; });
}

}  // namespace ec::cli
