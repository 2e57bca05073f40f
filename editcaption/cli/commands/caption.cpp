// `editcaption caption [CONFIG] --model PATH --manifest M.jsonl --out preds.jsonl [--set k=v]...
// [--num-samples K] [--batch-size B] [--limit N] [--strict]`: writes the model's instruction for
// every manifest record as JSONL {"id", "instruction"} ({"id", "sample", "instruction"}, K lines
// per record, with --num-samples K > 1). The work is trainers/captioner.h's (docs/models.md).
#include <iostream>

#include "editcaption/cli/command.h"
#include "editcaption/cli/commands/model_args.h"
#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/log.h"

namespace ec::cli {

namespace {

struct CaptionArgs {
  ConfigArgs config;
  ModelArgs model;
  std::string manifest;
  std::string out;
  int64_t num_samples = 1;
  bool strict = false;
};

int run_caption(const CaptionArgs& a) {
  LoadedModel m = load_model(a.model, a.config);
  m.options.num_samples = a.num_samples;
  train::CaptionResult r = train::caption_manifest(m.source, a.manifest, m.options);
  write_file_atomic(a.out, train::captions_jsonl(r, a.num_samples > 1));
  std::cout << fmt::format("captioned {} of {} record(s) ({} instruction(s)) -> {}\n", r.records - static_cast<int64_t>(r.bad.size()),
                           r.records, r.captions.size(), a.out);
  if (!r.bad.empty()) {
    std::cout << fmt::format("skipped {} bad record(s) (listed above; first: {})\n", r.bad.size(),
                             r.bad.front().str(a.manifest));
    if (a.strict) throw EC_USER_ERROR(Input, "{}: {} bad record(s) (--strict)", a.manifest, r.bad.size());
  }
  return 0;
}

}  // namespace

void register_caption(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("caption", "Write a model's editing instruction for every pair of a manifest");
  auto a = std::make_shared<CaptionArgs>();
  add_config_args(cmd, a->config, /*required=*/false);
  add_model_args(cmd, a->model);
  cmd->add_option("--manifest", a->manifest, "Manifest (JSONL; SFT or DPO) whose pairs to caption")->required();
  cmd->add_option("--out", a->out, "Predictions to write (JSONL)")->required();
  cmd->add_option("--num-samples", a->num_samples, "Instructions per record (needs generation.do_sample=true)")
      ->capture_default_str();
  cmd->add_flag("--strict", a->strict, "Exit with code 3 when a record was skipped");
  cmd->callback([&ctx, a] { ctx.action = [a] { return run_caption(*a); }; });
}

}  // namespace ec::cli
