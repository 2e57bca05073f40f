// The inference commands end to end through the binary: `eval --model` on a 3-pair synthetic test
// set gives the report `eval --predictions` gives for the predictions it wrote, `caption` writes
// the same instructions, `caption --strict` fails on a bad record, and `eval table` turns the
// reports into an ablation.json that `editcaption report` reads.
#include <gtest/gtest.h>

#include "editcaption/eval/report_inputs.h"
#include "tests/infer/infer_fixture.h"

namespace ec::train {
namespace {

namespace fs = std::filesystem;
using test::InferFixture;
using test::run_cli;

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(test::read_text(p)); }

size_t count_lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

TEST(InferCli, EvalModelCaptionAndTableEndToEnd) {
  InferFixture f;
  ExperimentConfig cfg = f.config();
  nn::QwenVL m = InferFixture::model(cfg);
  InferFixture::save_checkpoint(m, cfg, f.dir / "run" / "checkpoints");
  const std::string run = (f.dir / "run").string();

  auto synth = run_cli({"synth", "--set", "synth.train=1", "--set", "synth.val=0", "--set", "synth.test=3", "--set",
                        "synth.image_size=56", "--out", (f.dir / "synth").string()});
  ASSERT_EQ(synth.exit_code, 0) << synth.err;
  const std::string test_set = (f.dir / "synth" / "test.jsonl").string();

  const fs::path report = f.dir / "eval" / "sft.json";
  fs::create_directories(report.parent_path());
  auto ev = run_cli({"eval", "--model", run, "--manifest", test_set, "--out", report.string(), "--set",
                     "generation.max_new_tokens=5", "--batch-size", "2"});
  ASSERT_EQ(ev.exit_code, 0) << ev.out << ev.err;
  EXPECT_NE(ev.out.find("overall"), std::string::npos) << ev.out;
  const fs::path preds = f.dir / "eval" / "sft.predictions.jsonl";
  ASSERT_TRUE(fs::exists(preds));
  EXPECT_EQ(count_lines(test::read_text(preds)), 3u);
  nlohmann::json r = read_json(report);
  EXPECT_EQ(r["overall"]["n"], 3);
  EXPECT_EQ(r["predictions"], preds.string());
  EXPECT_EQ(r["model_identity"].get<std::string>().size(), 64u);

  // The same instructions scored from the file give the same summary.
  const fs::path again = f.dir / "eval" / "again.json";
  auto ep = run_cli({"eval", "--predictions", preds.string(), "--manifest", test_set, "--out", again.string()});
  ASSERT_EQ(ep.exit_code, 0) << ep.err;
  EXPECT_EQ(read_json(again)["overall"], r["overall"]);

  // caption writes what eval generated (same greedy settings).
  const fs::path captions = f.dir / "captions.jsonl";
  auto cap = run_cli({"caption", "--model", run, "--manifest", test_set, "--out", captions.string(), "--set",
                      "generation.max_new_tokens=5"});
  ASSERT_EQ(cap.exit_code, 0) << cap.err;
  EXPECT_EQ(test::read_text(captions), test::read_text(preds));

  // A bad record: skipped and listed; --strict turns it into exit code 3.
  std::string bad_manifest = test::read_text(test_set) + R"({"id": "broken", "source": "nowhere.png", "target": "nowhere.png"})" "\n";
  test::write_text(f.dir / "synth" / "with_bad.jsonl", bad_manifest);
  auto strict = run_cli({"caption", "--model", run, "--manifest", (f.dir / "synth" / "with_bad.jsonl").string(), "--out",
                         (f.dir / "c2.jsonl").string(), "--strict", "--set", "generation.max_new_tokens=2"});
  EXPECT_EQ(strict.exit_code, 3) << strict.err;
  EXPECT_NE(strict.err.find("with_bad.jsonl:4 [id broken]"), std::string::npos) << strict.err;
  EXPECT_NE(strict.out.find("skipped 1 bad record"), std::string::npos) << strict.out;

  // The ablation table from both reports.
  const fs::path table = f.dir / "table";
  auto tab = run_cli({"eval", "table", "--out", table.string(), "--test-set", "synthetic", "SFT=" + report.string(),
                      "SFT again=" + again.string()});
  ASSERT_EQ(tab.exit_code, 0) << tab.err;
  eval::Ablation a = eval::read_ablation(table / "ablation.json");
  ASSERT_EQ(a.variants.size(), 2u);
  EXPECT_EQ(a.variants[1].name, "SFT again");
  EXPECT_EQ(a.variants[0].test_set, "synthetic");
  EXPECT_DOUBLE_EQ(a.variants[0].values.at("S"), r["overall"]["S"].get<double>());
  EXPECT_EQ(fs::weakly_canonical(a.variants[0].predictions), fs::weakly_canonical(preds));
  EXPECT_EQ(fs::weakly_canonical(a.manifest), fs::weakly_canonical(test_set));
  EXPECT_TRUE(fs::exists(a.variants[0].per_sample));
  EXPECT_TRUE(fs::exists(table / "ablation.md"));
  EXPECT_TRUE(fs::exists(table / "ablation.csv"));
  auto html = run_cli({"report", table.string(), "--out", (f.dir / "report.html").string()});
  ASSERT_EQ(html.exit_code, 0) << html.err;
  EXPECT_NE(test::read_text(f.dir / "report.html").find("SFT again"), std::string::npos);

  auto usage = run_cli({"eval", "--manifest", test_set, "--model", run, "--predictions", preds.string()});
  EXPECT_EQ(usage.exit_code, 2) << usage.err;
}

TEST(InferCli, InterruptedCaptionRunResumesToTheSameFile) {
  InferFixture f;
  ExperimentConfig cfg = f.config();
  nn::QwenVL m = InferFixture::model(cfg);
  InferFixture::save_checkpoint(m, cfg, f.dir / "run" / "checkpoints");
  const std::string run = (f.dir / "run").string();
  const std::string manifest = f.manifest(5).string();
  auto caption = [&](const fs::path& out, const std::vector<std::string>& extra, const std::vector<std::string>& env = {}) {
    std::vector<std::string> argv{"/usr/bin/env"};
    argv.insert(argv.end(), env.begin(), env.end());
    argv.insert(argv.end(), {test::cli_path().string(), "caption", "--model", run, "--manifest", manifest, "--out",
                             out.string(), "--num-samples", "2", "--set", "generation.do_sample=true", "--set",
                             "generation.max_new_tokens=4"});
    argv.insert(argv.end(), extra.begin(), extra.end());
    return test::run_command(argv);
  };
  const fs::path whole = f.dir / "whole.jsonl";
  auto a = caption(whole, {"--batch-size", "3"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(count_lines(test::read_text(whole)), 10u);
  EXPECT_FALSE(fs::exists(whole.string() + ".partial"));

  // Killed (SIGKILL, nothing cleaned up) after its second batch of three.
  const fs::path out = f.dir / "out.jsonl";
  const fs::path journal = out.string() + ".partial";
  auto killed = caption(out, {"--batch-size", "3"}, {"EC_FAULT_AT=caption.after_batch:kill", "EC_FAULT_STEP=1"});
  EXPECT_EQ(killed.exit_code, 128 + 9) << killed.err;
  EXPECT_FALSE(fs::exists(out));
  ASSERT_TRUE(fs::exists(journal));
  EXPECT_EQ(count_lines(test::read_text(journal)), 1u + 6u);  // header + two batches

  // A different setting refuses the journal rather than mixing outputs.
  auto other = caption(out, {"--set", "generation.max_new_tokens=3"});
  EXPECT_EQ(other.exit_code, 2) << other.err;
  EXPECT_NE(other.err.find("--restart"), std::string::npos) << other.err;

  // The interruption can cut the last line short; that line is dropped and regenerated.
  {
    std::string text = test::read_text(journal);
    test::write_text(journal, text.substr(0, text.size() - 10));
  }
  auto resumed = caption(out, {"--batch-size", "2"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("5 resumed"), std::string::npos) << resumed.out;
  EXPECT_EQ(test::read_text(out), test::read_text(whole));
  EXPECT_FALSE(fs::exists(journal));

  // --restart ignores a journal (here: one with a caption edited by hand, which must not survive).
  auto again = caption(out, {"--batch-size", "3"}, {"EC_FAULT_AT=caption.after_batch:kill", "EC_FAULT_STEP=0"});
  EXPECT_EQ(again.exit_code, 128 + 9);
  {
    std::string text = test::read_text(journal);
    const size_t at = text.find("\"instruction\":\"");
    ASSERT_NE(at, std::string::npos);
    text.insert(at + 15, "EDITED ");
    test::write_text(journal, text);
  }
  auto restart = caption(out, {"--restart"});
  ASSERT_EQ(restart.exit_code, 0) << restart.err;
  EXPECT_EQ(test::read_text(out), test::read_text(whole));
}

}  // namespace
}  // namespace ec::train
