#include "trainers/ablation.h"

#include <torch/cuda.h>

#include <algorithm>
#include <iostream>

#include "editcaption/core/check.h"
#include "editcaption/core/error.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/log.h"
#include "editcaption/eval/report.h"
#include "trainers/inference_config.h"
#include "trainers/model_eval.h"
#include "trainers/preference_mining.h"
#include "trainers/stages.h"

namespace ec::train {
namespace fs = std::filesystem;

std::string variant_name(const std::string& key) {
  if (key == "sft") return "SFT only";
  if (key == "dpo_only") return "DPO only";
  if (key == "sft_dpo") return "SFT+DPO";
  if (key == "sft_hae_dpo") return "SFT+HAE-DPO";
  throw EC_USER_ERROR(Usage, "ablate.variants: unknown variant '{}' (sft, dpo_only, sft_dpo, sft_hae_dpo)", key);
}

at::Device inference_device() { return torch::cuda::is_available() ? at::Device("cuda:0") : at::Device(at::kCPU); }

namespace {

/// The deepest directory holding both paths (the mined preference manifest names images of the
/// SFT and the base preference manifests by absolute path: they must resolve inside the root).
fs::path common_root(const fs::path& a, const fs::path& b) {
  fs::path out;
  auto ia = a.begin(), ib = b.begin();
  for (; ia != a.end() && ib != b.end() && *ia == *ib; ++ia, ++ib) out /= *ia;
  return out;
}

/// Evaluates one trained model on the test manifest; writes <dir>/eval/<key>.json and its predictions.
fs::path evaluate(const StageResult& run, const ExperimentConfig& cfg, const std::string& key, const fs::path& dir) {
  ModelSource source = load_model_source(run.checkpoint, inference_device());
  apply_inference_config(source, cfg);
  CaptionOptions options = caption_options(cfg);
  options.batch_size = cfg.ablate.eval_batch_size;
  options.limit = cfg.ablate.eval_limit;
  const eval::StructuredScorer scorer = eval::StructuredScorer::from_config(cfg.eval.structured);
  ModelEval r = eval_model(source, cfg.ablate.test, options, scorer);
  const fs::path report = dir / "eval" / (key + ".json");
  fs::create_directories(report.parent_path());
  const fs::path preds = predictions_path_for(report);
  write_file_atomic(preds, captions_jsonl(r.captions, /*with_sample=*/false));
  nlohmann::ordered_json j = eval::to_json(r.report, /*with_samples=*/true);
  j["manifest"] = cfg.ablate.test.string();
  j["model"] = run.checkpoint.string();
  j["model_identity"] = source.identity;
  j["predictions"] = preds.string();
  j["run"] = run.run_dir.string();
  write_file_atomic(report, j.dump(2) + "\n");
  log::info("{}: evaluated on {} -> {}", variant_name(key), cfg.ablate.test.string(), report.string());
  std::cout << variant_name(key) << "\n" << eval::format_report(r.report);
  return report;
}

}  // namespace

AblationOutcome run_ablation(const config::Node& root) {
  check_stages(root);
  const ExperimentConfig base = with_absolute_paths(config::read<ExperimentConfig>(without_stages(root)));
  const AblationConfig& a = base.ablate;
  EC_USER_CHECK(!a.test.empty(), Usage, "ablate.test: the ablation needs a held-out test manifest with `gt`");
  EC_USER_CHECK(!a.variants.empty(), Usage, "ablate.variants: no variant to run");
  for (const std::string& k : a.variants) variant_name(k);
  AblationOutcome out;
  out.dir = base.run.output_dir / (base.run.name + "-ablation");
  fs::create_directories(out.dir);

  auto stage = [&](std::string_view name) { return with_absolute_paths(stage_config(root, name)); };
  auto wants = [&](const char* k) { return std::find(a.variants.begin(), a.variants.end(), k) != a.variants.end(); };
  auto finished = [&](const StageResult& r) {
    if (r.exit_code != 0) out.exit_code = r.exit_code;
    return r.exit_code == 0;
  };

  std::optional<StageResult> sft;
  if (wants("sft") || wants("sft_dpo") || wants("sft_hae_dpo")) {
    sft = run_stage(stage("sft"), Stage::Sft);
    if (!finished(*sft)) return out;
  }
  fs::path preferences, preferences_root;
  if (a.mine_samples > 0) {
    EC_USER_CHECK(sft.has_value(), Usage, "ablate.mine_samples: mining needs the SFT stage (a variant built on it)");
    const ExperimentConfig sft_cfg = stage("sft");
    ModelSource source = load_model_source(sft->checkpoint, inference_device());
    apply_inference_config(source, sft_cfg);
    MiningOptions mo;
    mo.caption = caption_options(sft_cfg);
    mo.caption.num_samples = a.mine_samples;
    mo.caption.generation.do_sample = true;
    mo.caption.generation.temperature = a.mine_temperature;
    mo.caption.batch_size = a.eval_batch_size;
    mo.caption.limit = a.mine_limit;
    const fs::path manifest = a.mine_manifest.empty() ? sft_cfg.data.train : fs::absolute(a.mine_manifest);
    preferences = out.dir / "preferences.jsonl";
    const fs::path base_pairs = stage("dpo").data.train;
    mine_preferences(source, manifest, base_pairs, preferences, eval::StructuredScorer::from_config(base.eval.structured),
                     mo);
    preferences_root = common_root(manifest.parent_path(), base_pairs.parent_path());
  }

  std::vector<eval::AblationInput> inputs;
  for (const std::string& key : a.variants) {
    VariantOutcome v{key, variant_name(key), {}, {}};
    ExperimentConfig cfg;
    if (key == "sft") {
      cfg = stage("sft");
      v.run = *sft;
    } else {
      cfg = stage(key == "sft_hae_dpo" ? "hae_dpo" : "dpo");
      if (!preferences.empty()) {
        cfg.data.train = preferences;
        if (cfg.data.dataset_root.empty()) cfg.data.dataset_root = preferences_root;
      }
      if (key == "dpo_only") {
        cfg.run.name += "-only";  // from the base model: its own run and reference
      } else {
        cfg.train.init = sft->checkpoint;
      }
      v.run = run_stage(cfg, Stage::Dpo);
      if (!finished(v.run)) return out;
    }
    v.report = evaluate(v.run, cfg, key, out.dir);
    inputs.push_back(eval::read_ablation_input(v.name, v.report));
    out.variants.push_back(std::move(v));
  }
  eval::AblationTableOptions to;
  to.title = "Training strategy (the paper's table 4)";
  to.model = fmt::format("{} ({} layers, width {})", config::enum_name(base.model.family), base.model.text.num_layers,
                         base.model.text.hidden_size);
  to.test_set = a.test.filename().string();
  out.table = eval::write_ablation_table(inputs, out.dir, to);
  std::vector<eval::AblationRow> rows;
  for (const auto& in : inputs) rows.push_back(eval::ablation_row(in));
  out.markdown = eval::ablation_markdown(rows, to);
  return out;
}

}  // namespace ec::train
