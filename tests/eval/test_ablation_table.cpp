// The ablation table writer: rows taken from eval reports (full reports and bare summaries),
// markdown with the best value per column in bold, CSV, ablation.json in the schema `report`
// reads (values, failure modes, paths relative to the table, per-sample files), and errors that
// name the report and key.
#include <gtest/gtest.h>

#include "editcaption/core/error.h"
#include "editcaption/eval/ablation_table.h"
#include "editcaption/eval/report.h"
#include "editcaption/eval/report_inputs.h"
#include "editcaption/io/csv.h"
#include "tests/common/test_util.h"

namespace ec::eval {
namespace {

namespace fs = std::filesystem;

const char* kManifest =
    R"({"id":"m1","source":"a.png","target":"b.png","instruction":"x","category":"structural","subcategory":"move","gt":{"primary":[{"action":"move","object":{"noun":"circle","color":"dark red","size":"small","texture":"plain","position":"center"},"direction":"left","to":{"position":"middle left"}}],"secondary":[],"overall":""}})"
    "\n"
    R"({"id":"c1","source":"a.png","target":"b.png","instruction":"x","category":"stylistic","subcategory":"color","gt":{"primary":[{"action":"modify","object":{"noun":"square","color":"light green","size":"large","texture":"plain","position":"top left"},"to":{"color":"dark blue"}}],"secondary":[],"overall":""}})"
    "\n";

/// Scores `preds` against kManifest and writes the report as `eval --out` does.
fs::path write_report(const test::TempDir& dir, const std::string& name, const std::string& preds) {
  test::write_text(dir / "test.jsonl", kManifest);
  test::write_text(dir / (name + ".jsonl"), preds);
  EvalReport r = evaluate(read_eval_manifest(dir / "test.jsonl"), read_predictions(dir / (name + ".jsonl")),
                          StructuredScorer{});
  nlohmann::ordered_json j = to_json(r);
  j["manifest"] = (dir / "test.jsonl").string();
  j["predictions"] = (dir / (name + ".jsonl")).string();
  test::write_text(dir / (name + ".report.json"), j.dump(2));
  return dir / (name + ".report.json");
}

TEST(AblationTable, WritesMarkdownCsvAndTheReportSchema) {
  test::TempDir dir;
  const fs::path good = write_report(
      dir, "good",
      R"({"id":"m1","instruction":"Move the small dark red circle left, from the center to the middle left."})"
      "\n"
      R"({"id":"c1","instruction":"Change the color of the large light green square in the top left to dark blue."})"
      "\n");
  const fs::path bad = write_report(dir, "bad",
                                    R"({"id":"m1","instruction":"Move the circle right."})"
                                    "\n"
                                    R"({"id":"c1","instruction":"Make it red."})"
                                    "\n");
  std::vector<AblationInput> inputs{read_ablation_input("SFT+DPO", good), read_ablation_input("SFT only", bad)};
  const AblationRow g = ablation_row(inputs[0]), b = ablation_row(inputs[1]);
  ASSERT_EQ(g.n, 2);
  ASSERT_GT(g.s, b.s);
  EXPECT_GT(b.orientation, 0.0);

  AblationTableOptions o;
  o.title = "Training strategy";
  o.test_set = "toy";
  const fs::path out = dir / "table";
  AblationTableFiles files = write_ablation_table(inputs, out, o);

  Ablation a = read_ablation(files.json);
  EXPECT_EQ(a.title, "Training strategy");
  ASSERT_EQ(a.variants.size(), 2u);
  EXPECT_EQ(a.variants[0].name, "SFT+DPO");
  EXPECT_EQ(a.variants[0].test_set, "toy");
  EXPECT_EQ(*a.variants[0].samples, 2);
  EXPECT_DOUBLE_EQ(a.variants[0].values.at("S"), g.s);
  EXPECT_DOUBLE_EQ(a.variants[1].values.at("Acc"), b.accuracy);
  EXPECT_DOUBLE_EQ(a.variants[1].values.at("P0"), b.p0);
  ASSERT_EQ(a.variants[1].failure_modes.size(), 4u);
  EXPECT_EQ(a.variants[1].failure_modes[0].first, "orientation");
  EXPECT_DOUBLE_EQ(a.variants[1].failure_modes[0].second, b.orientation);
  EXPECT_EQ(a.variants[1].failure_modes[2].first, "attribute");
  EXPECT_DOUBLE_EQ(a.variants[1].failure_modes[2].second, b.missing_attribute);
  EXPECT_EQ(fs::weakly_canonical(a.manifest), fs::weakly_canonical(dir / "test.jsonl"));
  EXPECT_EQ(fs::weakly_canonical(a.variants[1].predictions), fs::weakly_canonical(dir / "bad.jsonl"));
  const std::string json_text = test::read_text(files.json);
  EXPECT_NE(json_text.find(R"("predictions": "../bad.jsonl")"), std::string::npos) << json_text;

  ASSERT_EQ(files.per_sample.size(), 2u);
  EXPECT_EQ(a.variants[1].per_sample, out / "per_sample" / "sft-only.jsonl");
  const std::string per_sample = test::read_text(a.variants[1].per_sample);
  EXPECT_NE(per_sample.find(R"({"id":"m1","S":)"), std::string::npos) << per_sample;
  EXPECT_NE(per_sample.find(R"("severity":"P)"), std::string::npos) << per_sample;

  const std::string md = test::read_text(files.markdown);
  EXPECT_NE(md.find("# Training strategy"), std::string::npos);
  EXPECT_NE(md.find(fmt::format("| SFT+DPO | 2 | **{:.3f}** |", g.s)), std::string::npos) << md;
  EXPECT_NE(md.find(fmt::format("| SFT only | 2 | {:.3f} |", b.s)), std::string::npos) << md;

  auto rows = io::parse_csv(test::read_text(files.csv), "ablation.csv");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].fields[0], "variant");
  EXPECT_EQ(rows[2].fields[0], "SFT only");
  EXPECT_EQ(rows[2].fields[1], "toy");
  EXPECT_DOUBLE_EQ(std::stod(rows[2].fields[3]), std::stod(fmt::format("{:.6g}", b.s)));
}

TEST(AblationTable, BareSummariesAndErrorsNamingFileAndKey) {
  test::TempDir dir;
  nlohmann::ordered_json summary = to_json(GroupSummary{"overall", 4, 4.0, 4, 4, 4, 0.5, 0.25, 0.25, 0, 0.1, 0, 0, 0.2, {}});
  test::write_text(dir / "s.json", summary.dump());
  AblationRow r = ablation_row(read_ablation_input("v", dir / "s.json"));
  EXPECT_EQ(r.n, 4);
  EXPECT_DOUBLE_EQ(r.missing_attribute, 0.2);
  EXPECT_TRUE(r.predictions.empty());

  summary.erase("p1_rate");
  test::write_text(dir / "broken.json", summary.dump());
  try {
    ablation_row(read_ablation_input("v", dir / "broken.json"));
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_EQ(e.code(), ExitCode::Input);
    EXPECT_NE(std::string(e.what()).find("broken.json: 'p1_rate' is missing"), std::string::npos) << e.what();
  }
  test::write_text(dir / "list.json", "[1]");
  EXPECT_THROW(read_ablation_input("v", dir / "list.json"), UserError);
  auto in = read_ablation_input("v", dir / "s.json");
  EXPECT_THROW(write_ablation_table({in, in}, dir / "t"), UserError);  // the same name twice
}

}  // namespace
}  // namespace ec::eval
