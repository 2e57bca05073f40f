// `editcaption eval --predictions preds.jsonl --manifest test.jsonl [--out report.json]`: scores
// instructions against the manifest's structured ground truth with the paper's protocol and
// prints the table-2/table-3 columns and the failure-mode rates. Predictions are JSONL lines
// {"id": ..., "instruction": ...} (docs/evaluation.md). `eval --model PATH` generates them first
// (trainers/model_eval.h) and writes them next to the report.
#include <iostream>

#include "editcaption/cli/command.h"
#include "editcaption/cli/commands/model_args.h"
#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/log.h"
#include "editcaption/eval/report.h"
#include "trainers/model_eval.h"

namespace ec::cli {

namespace {

struct EvalArgs {
  ConfigArgs config;
  ModelArgs model;
  std::string predictions;
  std::string manifest;
  std::string out;
  bool strict = false;
  bool no_samples = false;
};

/// Prints the report, writes it with --out, and applies --strict to unscored records.
int finish(const EvalArgs& a, const eval::EvalReport& report, nlohmann::ordered_json extra, const std::string& source) {
  std::cout << eval::format_report(report);
  if (!a.out.empty()) {
    nlohmann::ordered_json j = eval::to_json(report, !a.no_samples);
    j["manifest"] = a.manifest;
    for (auto& [k, v] : extra.items()) j[k] = v;
    write_file_atomic(a.out, j.dump(2) + "\n");
    std::cout << "report: " << a.out << "\n";
  }
  if (!report.missing_predictions.empty()) {
    log::warn("{} manifest record(s) have no prediction and were not scored (first: {})",
              report.missing_predictions.size(), report.missing_predictions.front());
    if (a.strict) {
      throw EC_USER_ERROR(Input, "{}: {} record(s) without a prediction (--strict)", source,
                          report.missing_predictions.size());
    }
  }
  return 0;
}

int run_eval(const EvalArgs& a) {
  ExperimentConfig cfg = load_experiment(a.config);
  eval::StructuredScorer scorer = eval::StructuredScorer::from_config(cfg.eval.structured);
  std::vector<eval::EvalRecord> records = eval::read_eval_manifest(a.manifest);
  std::vector<eval::Prediction> predictions = eval::read_predictions(a.predictions);
  eval::EvalReport report = eval::evaluate(records, predictions, scorer);
  return finish(a, report, {{"predictions", a.predictions}}, a.predictions);
}

int run_eval_model(const EvalArgs& a) {
  LoadedModel m = load_model(a.model, a.config);
  eval::StructuredScorer scorer = eval::StructuredScorer::from_config(m.config.eval.structured);
  train::ModelEval r = train::eval_model(m.source, a.manifest, m.options, scorer);
  nlohmann::ordered_json extra{{"model", a.model.model}, {"model_identity", m.source.identity}};
  if (!a.out.empty()) {
    const std::filesystem::path preds = train::predictions_path_for(a.out);
    write_file_atomic(preds, train::captions_jsonl(r.captions, /*with_sample=*/false));
    extra["predictions"] = preds.string();
    std::cout << "predictions: " << preds.string() << "\n";
  }
  extra["skipped_records"] = r.captions.bad.size();
  return finish(a, r.report, std::move(extra), a.model.model);
}

}  // namespace

void register_eval(CLI::App& app, Context& ctx) {
  // `eval` scores directly (eval --predictions P --manifest M) and also groups `eval judge`.
  auto* cmd = command_group(app, "eval", "Score instructions against structured ground truth (the paper's protocol)");
  cmd->require_subcommand(0, 1);
  auto a = std::make_shared<EvalArgs>();
  add_config_args(cmd, a->config, /*required=*/false);
  cmd->add_option("--predictions", a->predictions, "JSONL of {\"id\", \"instruction\"} to score");
  add_model_args(cmd, a->model, /*required=*/false);
  cmd->add_option("--manifest", a->manifest, "Manifest (JSONL) whose records carry `gt`");
  cmd->add_option("--out", a->out,
                  "Write the report (summary and per-sample scores) as JSON; with --model also the predictions "
                  "(REPORT.predictions.jsonl)");
  cmd->add_flag("--strict", a->strict, "Exit with code 3 when a manifest record has no prediction");
  cmd->add_flag("--no-samples", a->no_samples, "Leave the per-sample scores out of the JSON report");
  cmd->callback([&ctx, a, cmd] {
    if (!cmd->get_subcommands().empty()) return;  // a subcommand (judge) set the action
    ctx.action = [a] {
      if (a->predictions.empty() == a->model.model.empty() || a->manifest.empty()) {
        throw EC_USER_ERROR(Usage,
                            "eval needs --manifest and either --predictions or --model (or a subcommand: eval judge, "
                            "eval table)");
      }
      return a->model.model.empty() ? run_eval(*a) : run_eval_model(*a);
    };
  });
}

}  // namespace ec::cli
