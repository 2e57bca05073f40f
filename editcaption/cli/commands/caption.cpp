// `editcaption caption [CONFIG] --model PATH --manifest M.jsonl --out preds.jsonl [--set k=v]...
// [--num-samples K] [--batch-size B] [--limit N] [--strict]`: writes the model's instruction for
// every manifest record as JSONL {"id", "instruction"} ({"id", "sample", "instruction"}, K lines
// per record, with --num-samples K > 1). The work is trainers/captioner.h's (docs/models.md).
// Resumable: finished captions are journaled to <out>.partial after every batch
// (trainers/caption_journal.h); the same command started again after an interruption generates
// only what is missing and writes the same file; --restart discards the journal.
// `editcaption caption --model PATH --source a.png --target b.png` prints the instruction of one pair.
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "editcaption/cli/command.h"
#include "editcaption/cli/commands/model_args.h"
#include "editcaption/config/visitor.h"
#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/hash.h"
#include "editcaption/core/log.h"
#include "trainers/caption_journal.h"

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
  bool restart = false;
};

/// What must not change between an interrupted run and its resumption: the manifest's bytes, the
/// model's weights and every setting that shapes an instruction (batch size does not).
nlohmann::ordered_json journal_header(const CaptionArgs& a, const LoadedModel& m) {
  nlohmann::ordered_json h;
  h["editcaption"] = "caption journal";
  h["version"] = 1;
  h["manifest_sha256"] = sha256_file(a.manifest);
  h["model_identity"] = m.source.identity;
  h["settings_sha256"] = config::config_hash(config::to_json(m.config));
  h["num_samples"] = a.num_samples;
  h["limit"] = m.options.limit;
  return h;
}

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
  EC_USER_CHECK(std::filesystem::is_regular_file(a.manifest), Input, "--manifest {}: no such file", a.manifest);
  LoadedModel m = load_model(a.model, a.config);
  m.options.num_samples = a.num_samples;
  train::CaptionJournal journal(a.out + ".partial", journal_header(a, m), a.restart);
  const size_t resumed = journal.done().size();
  if (resumed > 0) log::info("caption: resuming, {} caption(s) already in {}", resumed, journal.path().string());
  m.options.done = journal.done();
  m.options.on_batch = [&journal](const std::vector<train::Caption>& batch) { journal.append(batch); };
  m.options.fault = FaultPlan::from_env();
  const auto start = std::chrono::steady_clock::now();
  train::CaptionResult r = train::caption_manifest(m.source, a.manifest, m.options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_file_atomic(a.out, train::captions_jsonl(r, a.num_samples > 1));
  journal.finish();
  const size_t generated = r.captions.size() - resumed;
  std::cout << fmt::format("captioned {} of {} record(s) ({} instruction(s), {} generated in {:.1f} s, {:.2f}/s{}) -> {}\n",
                           r.records - static_cast<int64_t>(r.bad.size()), r.records, r.captions.size(), generated,
                           seconds, seconds > 0 ? static_cast<double>(generated) / seconds : 0.0,
                           resumed > 0 ? fmt::format(", {} resumed", resumed) : std::string(), a.out);
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
  cmd->add_flag("--restart", a->restart,
                "Discard the journal (<out>.partial) of an interrupted run instead of resuming from it");
  cmd->callback([&ctx, a] { ctx.action = [a] { return run_caption(*a); }; });
}

}  // namespace ec::cli
