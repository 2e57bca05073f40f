#include "trainers/demo.h"

#include <chrono>

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/log.h"
#include "editcaption/data/sentencepiece_tokenizer.h"
#include "editcaption/data/synth/generator.h"
#include "editcaption/eval/report_html.h"
#include "editcaption/eval/report_inputs.h"
#include "trainers/stages.h"

namespace ec::train {
namespace fs = std::filesystem;

namespace {

/// Generates the dataset unless the same settings already produced it (a stamp records them).
void ensure_synth(const data::synth::SynthConfig& cfg) {
  const fs::path stamp = cfg.out / "demo.stamp";
  const std::string want = config::to_json(cfg).dump();
  if (fs::exists(stamp) && read_file(stamp) == want) {
    log::info("demo: synthetic dataset {} is up to date", cfg.out.string());
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  data::synth::SynthResult r = data::synth::generate_dataset(cfg, cfg.out);
  log::info("demo: generated {} pairs ({} DPO pairs) in {} in {:.1f} s", r.pairs, r.dpo_pairs, cfg.out.string(),
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  write_file_atomic(stamp, want);
}

void ensure_tokenizer(const ExperimentConfig& cfg) {
  const fs::path dir = cfg.data.tokenizer;
  const fs::path stamp = dir / "demo.stamp";
  const std::string want = fmt::format("{}|{}", config::to_json(cfg.synth).dump(), cfg.demo.tokenizer_vocab_size);
  if (fs::exists(stamp) && read_file(stamp) == want) return;
  data::SentencePieceTrainOptions o;
  o.manifests = {cfg.synth.out / "train.jsonl", cfg.synth.out / "dpo_train.jsonl"};
  o.vocab_size = cfg.demo.tokenizer_vocab_size;
  o.seed = cfg.run.seed;
  data::SentencePieceTrainResult r = data::train_sentencepiece(o, dir);
  log::info("demo: trained a {}-token tokenizer on {} sentences -> {}", r.vocab_size, r.sentences, dir.string());
  write_file_atomic(stamp, want);
}

}  // namespace

DemoOutcome run_demo(const config::Node& root) {
  check_stages(root);
  const ExperimentConfig base = with_absolute_paths(config::read<ExperimentConfig>(without_stages(root)));
  EC_USER_CHECK(!base.data.tokenizer.empty(), Usage, "data.tokenizer: the demo trains its tokenizer there; set a directory");
  ExperimentConfig synth_cfg = base;
  synth_cfg.synth.out = fs::absolute(base.synth.out);
  ensure_synth(synth_cfg.synth);
  ensure_tokenizer(synth_cfg);

  DemoOutcome out;
  out.ablation = run_ablation(root);
  if (out.ablation.exit_code != 0) return out;

  std::vector<eval::RunMetrics> runs;
  for (const VariantOutcome& v : out.ablation.variants) {
    eval::RunMetrics m = eval::read_run_metrics(v.run.run_dir);
    m.name = v.name;
    runs.push_back(std::move(m));
  }
  std::vector<eval::Ablation> ablations{eval::read_ablation(out.ablation.table.json)};
  eval::ReportOptions ro;
  ro.title = "editcaption demo: SFT vs DPO on synthetic edit pairs";
  out.report = out.ablation.dir / "report.html";
  write_file_atomic(out.report, eval::render_report(runs, ablations, ro));
  return out;
}

}  // namespace ec::train
