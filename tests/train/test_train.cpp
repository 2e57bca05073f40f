// The training loop end to end on a tiny model: SFT learns, gradient accumulation equals one big
// batch, DPO starts at exactly ln 2 with zero rewards, the pair-aware forward and the reference
// cache give the same numbers as their plain counterparts, the reference is pinned, the guard
// skips a non-finite step without touching the weights, and resumed runs are bitwise identical to
// uninterrupted ones (a new process each time).
#include <gtest/gtest.h>

#include <cmath>

#include "editcaption/core/error.h"
#include "tests/train/train_fixture.h"

namespace ec::test {
namespace {
namespace fs = std::filesystem;

struct TrainRun {
  fs::path dir;
  CommandResult result;
  std::vector<std::map<std::string, std::string>> steps;
};

TrainRun run(const TempDir& tmp, const std::string& command, const std::string& name, std::vector<std::string> sets,
        std::vector<std::string> env = {}) {
  const bool dpo = command == "dpo";
  const fs::path cfg = tmp / (name + ".yaml");
  if (!fs::exists(cfg)) write_text(cfg, train_config_yaml(tmp / "runs", name, dpo));
  std::vector<std::string> argv;
  if (!env.empty()) {
    argv.push_back("/usr/bin/env");
    argv.insert(argv.end(), env.begin(), env.end());
  }
  argv.push_back(cli_path().string());
  argv.push_back(command);
  argv.push_back(cfg.string());
  for (const std::string& s : sets) {
    argv.push_back("--set");
    argv.push_back(s);
  }
  TrainRun r;
  r.dir = tmp / "runs" / name;
  r.result = run_command(argv);
  r.steps = step_records(r.dir);
  return r;
}

double num(const std::map<std::string, std::string>& r, const std::string& key) {
  auto it = r.find(key);
  EXPECT_NE(it, r.end()) << key;
  return it == r.end() ? NAN : std::stod(it->second);
}

fs::path checkpoint(const TrainRun& r, int64_t step) { return r.dir / "checkpoints" / fmt::format("step_{:08d}", step); }

TEST(Sft, LossFallsOnSyntheticData) {
  TempDir tmp("ec-train");
  TrainRun r = run(tmp, "sft", "learn", {"train.max_steps=40", "checkpoint.interval_steps=0"});
  ASSERT_EQ(r.result.exit_code, 0) << r.result.err;
  ASSERT_EQ(r.steps.size(), 40u);
  const double first = num(r.steps.front(), "loss"), last = num(r.steps.back(), "loss");
  EXPECT_LT(last, 0.65 * first) << "first " << first << " last " << last;
  EXPECT_TRUE(fs::exists(checkpoint(r, 40) / "manifest.json"));
}

TEST(Sft, AccumulatedMicroBatchesEqualOneBatch) {
  TempDir tmp("ec-train");
  TrainRun one = run(tmp, "sft", "one", {"train.max_steps=3", "train.micro_batch_size=4"});
  TrainRun four = run(tmp, "sft", "four", {"train.max_steps=3", "train.micro_batch_size=1"});
  ASSERT_EQ(one.result.exit_code, 0) << one.result.err;
  ASSERT_EQ(four.result.exit_code, 0) << four.result.err;
  ASSERT_EQ(one.steps.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(num(one.steps[i], "loss"), num(four.steps[i], "loss"), 1e-5) << "step " << i + 1;
    EXPECT_NEAR(num(one.steps[i], "grad_norm"), num(four.steps[i], "grad_norm"), 1e-4) << "step " << i + 1;
  }
}

TEST(Sft, ResumedRunIsBitwiseIdentical) {
  TempDir tmp("ec-train");
  // Two micro-batches per step, so the split also falls between accumulation windows.
  const std::vector<std::string> common = {"train.max_steps=6", "train.micro_batch_size=1", "train.global_batch_size=2"};
  TrainRun full = run(tmp, "sft", "full", common);
  ASSERT_EQ(full.result.exit_code, 0) << full.result.err;
  auto first = common;
  first.push_back("train.stop_at_step=2");
  TrainRun a = run(tmp, "sft", "split", first);
  ASSERT_EQ(a.result.exit_code, 0) << a.result.err;
  auto second = common;
  second.push_back("train.stop_at_step=4");
  TrainRun b = run(tmp, "sft", "split", second);
  ASSERT_EQ(b.result.exit_code, 0) << b.result.err;
  TrainRun c = run(tmp, "sft", "split", common);
  ASSERT_EQ(c.result.exit_code, 0) << c.result.err;
  EXPECT_NE(c.result.err.find("resumed from"), std::string::npos) << c.result.err;
  ASSERT_EQ(full.steps.size(), 6u);
  ASSERT_EQ(c.steps.size(), 6u);  // one metrics file across the three processes
  for (size_t i = 0; i < 6; ++i) {
    for (const char* k : {"loss", "grad_norm", "lr", "first_ids"}) {
      EXPECT_EQ(full.steps[i].at(k), c.steps[i].at(k)) << k << " at step " << i + 1;
    }
  }
  EXPECT_EQ(model_bytes(checkpoint(full, 6)), model_bytes(checkpoint(c, 6)));
  EXPECT_EQ(read_text(checkpoint(full, 6) / "rank_00000/optimizer.safetensors"),
            read_text(checkpoint(c, 6) / "rank_00000/optimizer.safetensors"));
}

TEST(Sft, GuardSkipsANonFiniteStepWithoutTouchingTheWeights) {
  TempDir tmp("ec-train");
  TrainRun r = run(tmp, "sft", "guard", {"train.max_steps=3", "checkpoint.interval_steps=1"},
              {"EC_FAULT_AT=train.nan_grad", "EC_FAULT_STEP=2"});
  ASSERT_EQ(r.result.exit_code, 0) << r.result.err;
  ASSERT_EQ(r.steps.size(), 3u);
  EXPECT_EQ(r.steps[1].count("skipped"), 1u);
  EXPECT_EQ(r.steps[0].count("skipped"), 0u);
  EXPECT_EQ(model_bytes(checkpoint(r, 1)), model_bytes(checkpoint(r, 2)));
  EXPECT_NE(model_bytes(checkpoint(r, 2)), model_bytes(checkpoint(r, 3)));
}

TEST(Dpo, FirstStepLossIsExactlyLn2WithZeroRewards) {
  TempDir tmp("ec-train");
  TrainRun r = run(tmp, "dpo", "ln2", {"train.max_steps=1"});
  ASSERT_EQ(r.result.exit_code, 0) << r.result.err;
  ASSERT_EQ(r.steps.size(), 1u);
  // The loss is an fp32 scalar: exactly ln 2 rounded to float.
  EXPECT_EQ(num(r.steps[0], "loss"), static_cast<double>(static_cast<float>(std::log(2.0))));
  EXPECT_EQ(num(r.steps[0], "rewards/chosen"), 0.0);
  EXPECT_EQ(num(r.steps[0], "rewards/rejected"), 0.0);
  EXPECT_EQ(num(r.steps[0], "rewards/margins"), 0.0);
}

TEST(Dpo, SharedPrefixEqualsSeparateSequences) {
  TempDir tmp("ec-train");
  TrainRun sep = run(tmp, "dpo", "sep", {"train.max_steps=2", "data.collate.pair_layout=separate"});
  TrainRun shr = run(tmp, "dpo", "shr", {"train.max_steps=2", "data.collate.pair_layout=shared_prefix"});
  ASSERT_EQ(sep.result.exit_code, 0) << sep.result.err;
  ASSERT_EQ(shr.result.exit_code, 0) << shr.result.err;
  for (size_t i = 0; i < 2; ++i) {
    for (const char* k : {"logps/chosen", "logps/rejected", "loss", "rewards/margins"}) {
      const double a = num(sep.steps[i], k), b = num(shr.steps[i], k);
      EXPECT_NEAR(a, b, 1e-5 * std::max(1.0, std::abs(a))) << k << " at step " << i + 1;
    }
  }
}

TEST(Dpo, CachedReferenceEqualsLive) {
  TempDir tmp("ec-train");
  TrainRun live = run(tmp, "dpo", "live", {"train.max_steps=3"});
  TrainRun cached = run(tmp, "dpo", "cached", {"train.max_steps=3", "dpo.reference=cached"});
  ASSERT_EQ(live.result.exit_code, 0) << live.result.err;
  ASSERT_EQ(cached.result.exit_code, 0) << cached.result.err;
  EXPECT_NE(cached.result.err.find("reference cache"), std::string::npos);
  for (size_t i = 0; i < 3; ++i) {
    for (const char* k : {"loss", "rewards/chosen", "rewards/rejected", "logps/chosen"}) {
      const double a = num(live.steps[i], k), b = num(cached.steps[i], k);
      EXPECT_NEAR(a, b, 1e-5 * std::max(1.0, std::abs(a))) << k << " at step " << i + 1;
    }
  }
  // A second run reuses every entry.
  TrainRun again = run(tmp, "dpo", "cached2", {"train.max_steps=1", "dpo.reference=cached",
                                          "dpo.cache_dir=" + (tmp / "runs" / "reference_cache").string()});
  ASSERT_EQ(again.result.exit_code, 0) << again.result.err;
  EXPECT_NE(again.result.err.find(" 0 pairs computed"), std::string::npos) << again.result.err;
}

TEST(Dpo, ResumingAgainstAnotherReferenceIsRefused) {
  TempDir tmp("ec-train");
  TrainRun sft = run(tmp, "sft", "sft", {"train.max_steps=2"});
  ASSERT_EQ(sft.result.exit_code, 0) << sft.result.err;
  TrainRun a = run(tmp, "dpo", "dpo", {"train.max_steps=4", "train.stop_at_step=2"});
  ASSERT_EQ(a.result.exit_code, 0) << a.result.err;
  TrainRun b = run(tmp, "dpo", "dpo", {"train.max_steps=4", "train.init=" + sft.dir.string()});
  EXPECT_EQ(b.result.exit_code, static_cast<int>(ExitCode::Checkpoint)) << b.result.err;
  EXPECT_NE(b.result.err.find("reference"), std::string::npos) << b.result.err;
}

TEST(Dpo, ResumedRunIsBitwiseIdentical) {
  TempDir tmp("ec-train");
  const std::vector<std::string> common = {"train.max_steps=4", "train.micro_batch_size=1",
                                           "dpo.margin.hardness=0.5", "dpo.rpo_alpha=0.1"};
  TrainRun full = run(tmp, "dpo", "full", common);
  ASSERT_EQ(full.result.exit_code, 0) << full.result.err;
  auto first = common;
  first.push_back("train.stop_at_step=2");
  ASSERT_EQ(run(tmp, "dpo", "split", first).result.exit_code, 0);
  TrainRun c = run(tmp, "dpo", "split", common);
  ASSERT_EQ(c.result.exit_code, 0) << c.result.err;
  ASSERT_EQ(c.steps.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    for (const char* k : {"loss", "grad_norm", "lr", "first_ids", "rewards/margins"}) {
      EXPECT_EQ(full.steps[i].at(k), c.steps[i].at(k)) << k << " at step " << i + 1;
    }
  }
  EXPECT_EQ(model_bytes(checkpoint(full, 4)), model_bytes(checkpoint(c, 4)));
}

}  // namespace
}  // namespace ec::test

namespace ec::test {
namespace {

TEST(Ablate, TrainsEvaluatesAndTabulatesEveryVariant) {
  TempDir tmp("ec-ablate");
  const TrainFixture& f = train_fixture();
  std::string yaml = train_config_yaml(tmp / "runs", "abl", false);
  yaml += fmt::format(R"(generation: {{max_new_tokens: 12}}
ablate: {{test: {test}, eval_batch_size: 4, eval_limit: 3, mine_samples: 1, mine_limit: 4}}
stages:
  sft: {{train: {{max_steps: 3}}}}
  dpo: {{data: {{train: {dpo}}}, train: {{max_steps: 2}}, dpo: {{reference: cached}}}}
  hae_dpo: {{dpo: {{margin: {{hardness: 1.0, severity: {{P0: 0.5}}}}}}}}
)",
                      fmt::arg("test", (f.synth / "test.jsonl").string()),
                      fmt::arg("dpo", (f.synth / "dpo_train.jsonl").string()));
  write_text(tmp / "abl.yaml", yaml);
  CommandResult r = run_cli({"ablate", (tmp / "abl.yaml").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path dir = tmp / "runs" / "abl-ablation";
  for (const char* f : {"ablation.md", "ablation.csv", "ablation.json", "preferences.jsonl", "eval/sft.json",
                        "eval/dpo_only.json", "eval/sft_dpo.json", "eval/sft_hae_dpo.json"}) {
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  }
  const std::string md = read_text(dir / "ablation.md");
  for (const char* v : {"SFT only", "DPO only", "SFT+DPO", "SFT+HAE-DPO"}) EXPECT_NE(md.find(v), std::string::npos) << v;
  for (const char* run : {"abl-sft", "abl-dpo", "abl-dpo-only", "abl-hae_dpo"}) {
    EXPECT_TRUE(fs::exists(tmp / "runs" / run / "checkpoints" / "latest")) << run;
  }
  // A rerun trains nothing again: every stage resumes at its end.
  CommandResult again = run_cli({"ablate", (tmp / "abl.yaml").string()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.err.find("step 1/"), std::string::npos) << again.err;
}

}  // namespace
}  // namespace ec::test

namespace ec::test {
namespace {

TEST(Export, TrainedRunBecomesAHuggingFaceDirectory) {
  TempDir tmp("ec-export");
  write_text(tmp / "e.yaml", train_config_yaml(tmp / "runs", "e", false));
  CommandResult r = run_cli({"sft", (tmp / "e.yaml").string(), "--set", "train.max_steps=2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  CommandResult e = run_cli({"export", "--hf", (tmp / "runs/e").string(), (tmp / "hf").string(), "--dtype", "float32"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.model", "preprocessor_config.json"}) {
    EXPECT_TRUE(fs::exists(tmp / "hf" / f)) << f;
  }
  // The exported directory is a model source of its own: captioning from it works.
  CommandResult c = run_cli({"caption", "--model", (tmp / "hf").string(), "--manifest",
                             (train_fixture().synth / "test.jsonl").string(), "--out", (tmp / "p.jsonl").string(),
                             "--limit", "2", "--set", "generation.max_new_tokens=4"});
  EXPECT_EQ(c.exit_code, 0) << c.err;
  // One pair from two image files: the instruction on stdout.
  const fs::path images = train_fixture().synth / "images" / "test";
  CommandResult one = run_cli({"caption", "--model", (tmp / "hf").string(), "--source",
                               (images / "000000_source.png").string(), "--target",
                               (images / "000000_target.png").string(), "--set", "generation.max_new_tokens=4"});
  EXPECT_EQ(one.exit_code, 0) << one.err;
  EXPECT_FALSE(one.out.empty());
  EXPECT_EQ(run_cli({"caption", "--model", (tmp / "hf").string(), "--source", (images / "000000_source.png").string()})
                .exit_code,
            2);
  EXPECT_EQ(run_cli({"export", "--hf", (tmp / "nothing").string(), (tmp / "hf2").string()}).exit_code, 3);
}

}  // namespace
}  // namespace ec::test
