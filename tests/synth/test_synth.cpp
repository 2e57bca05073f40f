// The synthetic dataset: determinism, the 25/25/50 mix, the test split's held-out combinations,
// record format, and the DPO negatives (each carries exactly one failure, which the structured
// scorer finds with its labelled type and severity, while the chosen instruction scores 5).
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include <fstream>
#include <map>
#include <set>

#include "editcaption/data/synth/generator.h"
#include "editcaption/eval/scorer.h"
#include "tests/common/test_util.h"

namespace ec::data::synth {
namespace {

namespace fs = std::filesystem;

SynthConfig small_config() {
  SynthConfig c;
  c.image_size = 64;
  c.train = 80;
  c.val = 16;
  c.test = 32;
  c.threads = 2;
  return c;
}

std::vector<nlohmann::json> read_jsonl(const fs::path& p) {
  std::vector<nlohmann::json> out;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

std::map<std::string, std::string> all_files(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = test::read_text(e.path());
  }
  return out;
}

/// The held-out combination of a record, recomputed from its ground truth alone.
std::string combination(const nlohmann::json& r) {
  const auto& gt = r["gt"];
  const auto& p = gt["primary"][0];
  std::string sub = r["subcategory"];
  auto hue = [](const std::string& color) { return color.substr(color.find(' ') + 1); };
  std::string background;
  for (const auto& o : gt.value("unchanged", nlohmann::json::array())) {
    if (o["noun"] == "background") background = o["color"];
  }
  if (sub == "background") return std::string(p["to"]["color"]) + "|background|background";
  if (sub == "tone") return background + "|image|tone-" + std::string(p["direction"]);
  if (sub == "zoom" || sub == "pan") return background + "|camera|" + sub + "-" + std::string(p["direction"]);
  return hue(p["object"]["color"]) + "|" + std::string(p["object"]["noun"]) + "|" + sub;
}

TEST(Synth, SameSeedSameBytesWhateverTheThreads) {
  test::TempDir a, b, c;
  SynthConfig cfg = small_config();
  generate_dataset(cfg, a.path() / "out");
  cfg.threads = 1;
  generate_dataset(cfg, b.path() / "out");
  auto fa = all_files(a.path() / "out"), fb = all_files(b.path() / "out");
  ASSERT_EQ(fa.size(), fb.size());
  // synth.json records the output path and thread count; everything else must match exactly.
  for (const auto& [name, bytes] : fa) {
    if (name == "synth.json") continue;
    EXPECT_TRUE(bytes == fb[name]) << name << " differs";
  }
  EXPECT_EQ(fa.size(), 2u * (80 + 16 + 32) + 7u);  // two images per pair, 6 manifests, synth.json
  cfg.seed = 7;
  generate_dataset(cfg, c.path() / "out");
  EXPECT_NE(test::read_text(a.path() / "out" / "train.jsonl"), test::read_text(c.path() / "out" / "train.jsonl"));
}

TEST(Synth, CategoryMixIsExact) {
  SynthConfig cfg;
  std::vector<EditKind> s = edit_schedule(cfg, Split::Train, 400);
  ASSERT_EQ(s.size(), 400u);
  std::map<EditCategory, int> cats;
  std::map<EditKind, int> kinds;
  for (EditKind k : s) {
    ++cats[category_of(k)];
    ++kinds[k];
  }
  EXPECT_EQ(cats[EditCategory::Semantic], 100);
  EXPECT_EQ(cats[EditCategory::Stylistic], 100);
  EXPECT_EQ(cats[EditCategory::Structural], 200);
  EXPECT_EQ(kinds[EditKind::Add], 25);
  EXPECT_EQ(kinds[EditKind::Move], 50);  // weight 2 of 8 within structural
  EXPECT_EQ(kinds[EditKind::Zoom], 25);
  // Odd counts stay within one of the exact share.
  std::vector<EditKind> odd = edit_schedule(cfg, Split::Val, 13);
  int semantic = 0;
  for (EditKind k : odd) semantic += category_of(k) == EditCategory::Semantic;
  EXPECT_NEAR(semantic, 13 * 0.25, 1.0);
  // Other shares and weights are honoured.
  cfg.mix.semantic = 0;
  cfg.mix.stylistic = 1;
  cfg.mix.structural = 1;
  cfg.edits = {{"tone", 0}};
  std::map<EditKind, int> k2;
  for (EditKind k : edit_schedule(cfg, Split::Train, 60)) ++k2[k];
  EXPECT_EQ(k2[EditKind::Add], 0);
  EXPECT_EQ(k2[EditKind::Tone], 0);
  EXPECT_EQ(k2[EditKind::Color] + k2[EditKind::Texture], 30);
}

TEST(Synth, ManifestsImagesAndHeldOutCombinations) {
  test::TempDir dir;
  SynthConfig cfg = small_config();
  SynthResult r = generate_dataset(cfg, dir.path());
  std::set<std::string> heldout;
  for (const auto& c : r.summary["heldout_combinations"]) heldout.insert(c);
  EXPECT_FALSE(heldout.empty());

  std::map<std::string, std::set<std::string>> keys;
  for (const char* split : {"train", "val", "test"}) {
    auto records = read_jsonl(dir.path() / (std::string(split) + ".jsonl"));
    EXPECT_EQ(static_cast<int64_t>(records.size()), split == std::string("train") ? cfg.train
                                                   : split == std::string("val") ? cfg.val
                                                                                  : cfg.test);
    std::map<std::string, int> cats;
    for (const auto& rec : records) {
      for (const char* field : {"id", "source", "target", "instruction", "category", "subcategory", "gt"}) {
        ASSERT_TRUE(rec.contains(field)) << field;
      }
      ++cats[rec["category"]];
      keys[split].insert(combination(rec));
      eval::gt_from_json(rec["gt"], rec["id"]);  // valid structured ground truth
      cv::Mat img = cv::imread((dir.path() / std::string(rec["source"])).string());
      ASSERT_FALSE(img.empty()) << rec["source"];
      EXPECT_EQ(img.cols, 64);
      EXPECT_EQ(img.rows, 64);
      EXPECT_TRUE(fs::exists(dir.path() / std::string(rec["target"])));
    }
    EXPECT_EQ(cats["structural"] * 2, static_cast<int>(records.size())) << split;
  }
  // The test split holds only combinations never seen in training (nor in validation).
  for (const auto& k : keys["test"]) {
    EXPECT_TRUE(heldout.count(k)) << k;
    EXPECT_FALSE(keys["train"].count(k)) << k;
    EXPECT_FALSE(keys["val"].count(k)) << k;
  }
  for (const auto& k : keys["train"]) EXPECT_FALSE(heldout.count(k)) << k;
}

TEST(Synth, WithoutAHoldOutTheTestSplitIsDrawnLikeTrain) {
  test::TempDir dir;
  SynthConfig cfg = small_config();
  cfg.holdout_fraction = 0;
  cfg.train = 120;
  cfg.test = 60;
  SynthResult r = generate_dataset(cfg, dir.path());
  EXPECT_TRUE(r.summary["heldout_combinations"].empty());
  std::set<std::string> train, test;
  std::set<std::string> train_ids;
  for (const auto& rec : read_jsonl(dir.path() / "train.jsonl")) {
    train.insert(combination(rec));
    train_ids.insert(rec["id"]);
  }
  for (const auto& rec : read_jsonl(dir.path() / "test.jsonl")) {
    test.insert(combination(rec));
    EXPECT_FALSE(train_ids.count(rec["id"]));
  }
  EXPECT_EQ(static_cast<int64_t>(read_jsonl(dir.path() / "test.jsonl").size()), cfg.test);
  // Same distribution: many test combinations also occur in training (none would with a hold-out).
  int shared = 0;
  for (const auto& k : test) shared += train.count(k) > 0;
  EXPECT_GT(shared, 0);
}

TEST(Synth, DpoNegativesCarryExactlyTheirLabelledFailure) {
  test::TempDir dir;
  SynthConfig cfg = small_config();
  cfg.train = 160;
  cfg.val = 0;
  cfg.test = 24;
  cfg.negatives_per_sample = 3;
  cfg.secondary_prob = 0.5;
  SynthResult result = generate_dataset(cfg, dir.path());
  eval::StructuredScorer scorer;
  int checked = 0;
  for (const char* split : {"train", "test"}) {
    std::map<std::string, eval::GroundTruth> gts;
    for (const auto& rec : read_jsonl(dir.path() / (std::string(split) + ".jsonl"))) {
      gts[rec["id"]] = eval::gt_from_json(rec["gt"], rec["id"]);
      eval::SampleScore chosen = scorer.score(gts[rec["id"]], std::string(rec["instruction"]));
      EXPECT_DOUBLE_EQ(chosen.s, 5.0) << rec["instruction"] << "\n" << eval::to_json(chosen).dump(1);
      EXPECT_EQ(chosen.verdict, eval::Verdict::Correct) << rec["instruction"];
    }
    for (const auto& d : read_jsonl(dir.path() / ("dpo_" + std::string(split) + ".jsonl"))) {
      std::string id = d["id"];
      const eval::GroundTruth& g = gts.at(id.substr(0, id.rfind("-r")));
      EXPECT_NE(d["chosen"], d["rejected"]);
      eval::SampleScore s = scorer.score(g, std::string(d["rejected"]));
      ASSERT_TRUE(s.error_type.has_value()) << d.dump();
      EXPECT_EQ(config::enum_name(*s.error_type), d["error_type"]) << d.dump() << "\n" << eval::to_json(s).dump(1);
      EXPECT_EQ(eval::verdict_name(s.verdict), d["severity"]) << d.dump() << "\n" << eval::to_json(s).dump(1);
      EXPECT_LT(s.s, 5.0 + 1e-9);
      ++checked;
    }
  }
  EXPECT_GT(checked, 400);
  // Every kind of negative was exercised.
  const auto& counts = result.summary["counts"]["train"]["dpo_failures"];
  for (Failure f : kFailures) EXPECT_GT(counts.value(failure_name(f), 0), 0) << failure_name(f);
}

TEST(Synth, ConfigValidation) {
  SynthConfig cfg = small_config();
  cfg.edits = {{"mvoe", 1}};
  EXPECT_THROW(generate_dataset(cfg, "/nonexistent/never"), UserError);
  config::Validation v;
  cfg.validate(v);
  ASSERT_FALSE(v.problems().empty());
  EXPECT_NE(v.problems()[0].message.find("did you mean 'move'"), std::string::npos) << v.problems()[0].message;
  SynthConfig c2 = small_config();
  c2.min_objects = 5;
  c2.max_objects = 3;
  config::Validation v2;
  c2.validate(v2);
  EXPECT_FALSE(v2.problems().empty());
}

TEST(SynthCli, WritesAndRefusesForeignDirectories) {
  test::TempDir dir;
  std::vector<std::string> args = {"synth", "--out", (dir / "ds").string(), "--set", "synth.train=12", "--set",
                                   "synth.val=4", "--set", "synth.test=4", "--set", "synth.image_size=48"};
  auto r = test::run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("wrote 20 pairs"), std::string::npos) << r.out;
  // Rerunning over an earlier synth output replaces it.
  EXPECT_EQ(test::run_cli(args).exit_code, 0);
  // Another directory with files in it is not overwritten.
  fs::create_directories(dir / "mine");
  test::write_text(dir / "mine" / "notes.txt", "keep me");
  auto refused = test::run_cli({"synth", "--out", (dir / "mine").string(), "--set", "synth.train=2"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_EQ(test::read_text(dir / "mine" / "notes.txt"), "keep me");
  auto typo = test::run_cli({"synth", "--out", (dir / "x").string(), "--set", "synth.imag_size=48"});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.find("did you mean 'synth.image_size'"), std::string::npos) << typo.err;
}

TEST(SynthCli, OutputPassesDataCheck) {
  test::TempDir dir;
  ASSERT_EQ(test::run_cli({"synth", "--out", (dir / "ds").string(), "--set", "synth.train=16", "--set", "synth.val=4",
                           "--set", "synth.test=4"})
                .exit_code,
            0);
  for (const char* m : {"train.jsonl", "dpo_train.jsonl", "test.jsonl"}) {
    auto r = test::run_cli({"data", "check", (dir / "ds" / m).string(), "--strict"});
    EXPECT_EQ(r.exit_code, 0) << m << "\n" << r.out << r.err;
  }
}

}  // namespace
}  // namespace ec::data::synth
