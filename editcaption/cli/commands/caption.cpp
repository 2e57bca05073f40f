// `editcaption caption [CONFIG] --model PATH --manifest M.jsonl --out preds.jsonl [--set k=v]...
// [--num-samples K] [--batch-size B] [--limit N] [--strict]`: writes the model's instruction for
// every manifest record as JSONL {"id", "instruction"} ({"id", "sample", "instruction"}, K lines
// per record, with --num-samples K > 1). The work is trainers/captioner.h's (docs/models.md).
// `editcaption caption --model PATH --source a.png --target b.png` prints the instruction of one pair.
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <filesystem>
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
  std::string source, target;
  int64_t num_samples = 1;
  bool strict = false;
};

/// One pair: a one-record manifest beside copies of the two images (the manifest rules keep image
/// paths inside the manifest's directory), captioned like any manifest.
int run_pair(const CaptionArgs& a) {
  namespace fs = std::filesystem;
  for (const std::string& p : {a.source, a.target}) {
    EC_USER_CHECK(fs::is_regular_file(p), Input, "{}: no such image file", p);
  }
  LoadedModel m = load_model(a.model, a.config);
  const fs::path dir = fs::temp_directory_path() / fmt::format("editcaption-pair-{}", ::getpid());
  fs::create_directories(dir);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};
  const std::string src = "source" + fs::path(a.source).extension().string();
  const std::string tgt = "target" + fs::path(a.target).extension().string();
  fs::copy_file(a.source, dir / src);
  fs::copy_file(a.target, dir / tgt);
  write_file_atomic(dir / "pair.jsonl", nlohmann::json{{"id", "pair"}, {"source", src}, {"target", tgt}}.dump() + "\n");
  train::CaptionResult r = train::caption_manifest(m.source, dir / "pair.jsonl", m.options);
  EC_USER_CHECK(!r.captions.empty(), Input, "{} / {}: {}", a.source, a.target,
                r.bad.empty() ? std::string("no instruction") : r.bad.front().reason);
  std::cout << r.captions.front().instruction << "\n";
  return 0;
}

int run_caption(const CaptionArgs& a) {
  const bool pair = !a.source.empty() || !a.target.empty();
  EC_USER_CHECK(pair != !a.manifest.empty(), Usage, "caption: give either --manifest (with --out) or --source and --target");
  if (pair) {
    EC_USER_CHECK(!a.source.empty() && !a.target.empty(), Usage, "caption: --source and --target go together");
    return run_pair(a);
  }
  EC_USER_CHECK(!a.out.empty(), Usage, "caption --manifest needs --out");
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
  cmd->add_option("--manifest", a->manifest, "Manifest (JSONL; SFT or DPO) whose pairs to caption");
  cmd->add_option("--out", a->out, "Predictions to write (JSONL; with --manifest)");
  cmd->add_option("--source", a->source, "Source image of a single pair (prints its instruction)");
  cmd->add_option("--target", a->target, "Target (edited) image of a single pair");
  cmd->add_option("--num-samples", a->num_samples, "Instructions per record (needs generation.do_sample=true)")
      ->capture_default_str();
  cmd->add_flag("--strict", a->strict, "Exit with code 3 when a record was skipped");
  cmd->callback([&ctx, a] { ctx.action = [a] { return run_caption(*a); }; });
}

}  // namespace ec::cli
