// `editcaption data check MANIFEST`: validates every record of a manifest the way training does
// and prints a report (counts by category / error type / severity, every problem with its line
// and id). With --strict a problem makes the exit code non-zero (3, input).
// `editcaption data pack MANIFEST OUT_DIR`: decodes and resizes every record's images once into
// safetensors shards (docs/data.md) for repeated epochs and hosts without OpenCV.
#include <iostream>

#include "editcaption/cli/command.h"
#include "editcaption/core/error.h"
#include "editcaption/core/log.h"
#include "editcaption/core/strings.h"
#include "editcaption/data/dataset.h"
#include "editcaption/data/manifest_check.h"
#include "editcaption/data/packed_images.h"

namespace ec::cli {
namespace {

struct CheckArgs {
  std::string manifest;
  std::string config;
  std::vector<std::string> overrides;
  std::string family = "qwen3_vl";
  std::string kind;
  std::string tokenizer;
  std::string out_dir;
  bool strict = false;
  bool json = false;
  bool no_decode = false;
  int jobs = 2;
};

/// Exact text-token counts when a tokenizer is given (the `prompt:` section shapes the prompt).
data::TextTokenCounter text_counter(const CheckArgs& a, const ExperimentConfig& cfg, ModelFamily family) {
  if (a.tokenizer.empty()) return {};
  std::shared_ptr<const data::Tokenizer> tok = data::load_tokenizer(a.tokenizer);
  return data::tokenizer_text_counter(tok, data::make_chat_options(cfg.prompt, family));
}

void add_common(CLI::App* cmd, CheckArgs& a) {
  cmd->add_option("--config", a.config, "YAML config whose `data:` and `prompt:` sections apply");
  cmd->add_option("--set", a.overrides, "Override a key: --set data.budget.max_seq_len=2048 (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  cmd->add_option("--family", a.family, "Model family whose image processor sizes the images")
      ->check(CLI::IsMember({"qwen2_vl", "qwen2_5_vl", "qwen3_vl"}))
      ->capture_default_str();
  cmd->add_option("--tokenizer", a.tokenizer,
                  "Tokenizer (directory or file) for exact token counts; without it text is estimated (upper bound)");
  cmd->add_option("--kind", a.kind, "Expected record kind (default: from the first record)")
      ->check(CLI::IsMember({"sft", "dpo"}));
  cmd->add_option("--jobs", a.jobs, "Worker threads")->check(CLI::Range(1, 256))->capture_default_str();
}

int run_pack(const CheckArgs& a) {
  ExperimentConfig cfg = load_experiment(ConfigArgs{a.config, a.overrides});
  const data::DataConfig& dc = cfg.data;
  data::ManifestOptions mo = dc.manifest_options();
  if (!a.kind.empty()) mo.kind = config::parse_enum<data::ManifestKind>(a.kind, "--kind");
  data::Manifest manifest = data::read_manifest(a.manifest, mo);
  const ModelFamily family = config::parse_enum<ModelFamily>(a.family, "--family");
  data::PackOptions po;
  po.image = data::ImageProcessorOptions::for_family(family, dc.image);
  po.budget = dc.budget;
  po.count_text = text_counter(a, cfg, family);
  po.jobs = a.jobs;
  data::PackReport r = data::pack_manifest(manifest, a.out_dir, po);
  std::cout << fmt::format("packed {} of {} records into {} ({} shard{}, {} of pixels)\n", r.packed, r.records,
                           a.out_dir, r.shards, r.shards == 1 ? "" : "s", human_bytes(static_cast<double>(r.bytes)));
  if (!r.problems.empty()) {
    std::cout << fmt::format("\n{} bad records (kept as bad samples: training reports and replaces them):\n",
                             r.problems.size());
    for (const auto& p : r.problems) std::cout << "  " << p.str(manifest.path) << "\n";
  }
  if (a.strict && !r.problems.empty()) return static_cast<int>(ExitCode::Input);
  return 0;
}

int run_check(const CheckArgs& a) {
  ExperimentConfig cfg = load_experiment(ConfigArgs{a.config, a.overrides});
  const data::DataConfig& dc = cfg.data;
  data::ManifestOptions mo = dc.manifest_options();
  if (!a.kind.empty()) mo.kind = config::parse_enum<data::ManifestKind>(a.kind, "--kind");
  data::Manifest manifest = data::read_manifest(a.manifest, mo);

  data::CheckOptions co;
  co.image = data::ImageProcessorOptions::for_family(config::parse_enum<ModelFamily>(a.family, "--family"), dc.image);
  co.budget = dc.budget;
  co.decode = !a.no_decode;
  co.jobs = a.jobs;
  co.progress = !a.json;
  co.count_text = text_counter(a, cfg, co.image.family);
  data::CheckReport report = data::check_manifest(manifest, co);
  if (a.json) {
    std::cout << data::check_report_json(report).dump(2) << "\n";
  } else {
    std::cout << data::format_check_report(report);
  }
  if (a.strict && !report.problems.empty()) {
    log::error("{} of {} records have problems (--strict)", report.problems.size(), report.records);
    return static_cast<int>(ExitCode::Input);
  }
  return 0;
}

}  // namespace

void register_data(CLI::App& app, Context& ctx) {
  auto* cmd = command_group(app, "data", "Manifests: check, pack, filter, review sheets");

  auto* check = cmd->add_subcommand("check", "Validate every record of a manifest and print a report");
  auto a = std::make_shared<CheckArgs>();
  check->add_option("manifest", a->manifest, "JSONL manifest (docs/data.md)")->required();
  add_common(check, *a);
  check->add_flag("--strict", a->strict, "Exit with code 3 when any record has a problem");
  check->add_flag("--json", a->json, "Print the report as JSON");
  check->add_flag("--no-decode", a->no_decode, "Check headers and file structure only (skip decoding)");
  check->callback([&ctx, a] { ctx.action = [a] { return run_check(*a); }; });

  auto* pack = cmd->add_subcommand("pack", "Decode and resize a manifest's images once into safetensors shards");
  auto p = std::make_shared<CheckArgs>();
  pack->add_option("manifest", p->manifest, "JSONL manifest (docs/data.md)")->required();
  pack->add_option("out_dir", p->out_dir, "Output directory (use it as data.train)")->required();
  add_common(pack, *p);
  pack->add_flag("--strict", p->strict, "Exit with code 3 when any record could not be packed");
  pack->callback([&ctx, p] { ctx.action = [p] { return run_pack(*p); }; });
}

}  // namespace ec::cli
