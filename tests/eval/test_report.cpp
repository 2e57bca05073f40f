// Aggregation (table-2/table-3 columns, failure-mode rates, per category), the manifest and
// predictions readers, and `editcaption eval --predictions --manifest`.
#include <gtest/gtest.h>

#include "editcaption/core/error.h"
#include "editcaption/eval/report.h"
#include "tests/common/test_util.h"

namespace ec::eval {
namespace {

// Two structural moves and one stylistic recolour, as manifest lines.
std::string manifest_text() {
  const char* move = R"({"id":"%s","source":"a.png","target":"b.png","instruction":"x","category":"structural","subcategory":"move","gt":{"primary":[{"action":"move","object":{"noun":"circle","color":"dark red","size":"small","texture":"plain","position":"center"},"direction":"left","to":{"position":"middle left"}}],"secondary":[],"overall":""}})";
  const char* color = R"({"id":"c1","source":"a.png","target":"b.png","instruction":"x","category":"stylistic","subcategory":"color","gt":{"primary":[{"action":"modify","object":{"noun":"square","color":"light green","size":"large","texture":"plain","position":"top left"},"to":{"color":"dark blue"}}],"secondary":[],"overall":""}})";
  std::string out;
  for (const char* id : {"m1", "m2"}) {
    std::string line = move;
    line.replace(line.find("%s"), 2, id);
    out += line + "\n";
  }
  return out + color + "\n";
}

TEST(Report, AggregatesTheTableColumns) {
  test::TempDir dir;
  test::write_text(dir / "test.jsonl", manifest_text());
  test::write_text(dir / "preds.jsonl",
                   R"({"id":"m1","instruction":"Move the small dark red circle left, from the center to the middle left."})"
                   "\n"
                   R"({"id":"m2","instruction":"Move the small dark red circle right, from the center to the middle right."})"
                   "\n"
                   R"({"id":"zz","instruction":"Zoom the camera in."})"
                   "\n");
  auto records = read_eval_manifest(dir / "test.jsonl");
  ASSERT_EQ(records.size(), 3u);
  auto preds = read_predictions(dir / "preds.jsonl");
  StructuredScorer scorer;
  EvalReport r = evaluate(records, preds, scorer);
  EXPECT_EQ(r.overall.n, 2);
  EXPECT_EQ(r.missing_predictions, std::vector<std::string>{"c1"});
  EXPECT_EQ(r.unknown_predictions, std::vector<std::string>{"zz"});
  EXPECT_DOUBLE_EQ(r.overall.correct, 0.5);
  EXPECT_DOUBLE_EQ(r.overall.p0, 0.5);
  EXPECT_DOUBLE_EQ(r.overall.orientation, 0.5);
  EXPECT_DOUBLE_EQ(r.overall.viewpoint, 0.0);
  // The reversed move: Acc 3, Comp 1, Clar 5 -> S 2.6; the right one 5.
  EXPECT_NEAR(r.overall.s, (5.0 + 2.6) / 2, 1e-9);
  EXPECT_NEAR(r.overall.accuracy, 4.0, 1e-9);
  ASSERT_EQ(r.categories.size(), 1u);
  EXPECT_EQ(r.categories[0].name, "structural");
  EXPECT_DOUBLE_EQ(r.overall.error_types.at("orientation"), 0.5);
  std::string table = format_report(r);
  EXPECT_NE(table.find("structural"), std::string::npos);
  EXPECT_NE(table.find("missing predictions (1): c1"), std::string::npos);
  nlohmann::ordered_json j = to_json(r);
  EXPECT_EQ(j["samples"].size(), 2u);
  EXPECT_EQ(j["overall"]["p0_rate"], 0.5);
}

TEST(Report, ReadersNameTheBadLine) {
  test::TempDir dir;
  auto fails = [&](const std::string& text, bool manifest, const std::string& expect) {
    test::write_text(dir / "f.jsonl", text);
    try {
      if (manifest) {
        read_eval_manifest(dir / "f.jsonl");
      } else {
        read_predictions(dir / "f.jsonl");
      }
    } catch (const UserError& e) {
      EXPECT_EQ(e.code(), ExitCode::Input);
      EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << e.what();
      return;
    }
    ADD_FAILURE() << "no error for " << text;
  };
  fails("{\"id\": \"a\", \"instruction\": \"x\"}\n{not json\n", false, "f.jsonl:2: malformed JSON");
  fails("{\"id\": \"a\"}\n", false, "missing 'instruction'");
  fails("{\"id\": \"a\", \"source\": \"s\", \"target\": \"t\"}\n", true, "(id a): no structured ground truth");
  fails(manifest_text() + manifest_text(), true, "duplicate id");
  EXPECT_THROW(read_predictions(dir / "missing.jsonl"), UserError);
}

TEST(EvalCli, ScoresPredictionsAndWritesJson) {
  test::TempDir dir;
  test::write_text(dir / "test.jsonl", manifest_text());
  test::write_text(dir / "preds.jsonl",
                   R"({"id":"m1","instruction":"Move the small dark red circle left, from the center to the middle left."})"
                   "\n"
                   R"({"id":"c1","instruction":"Change the color of the large light green square to dark blue."})"
                   "\n");
  auto r = test::run_cli({"eval", "--predictions", (dir / "preds.jsonl").string(), "--manifest",
                          (dir / "test.jsonl").string(), "--out", (dir / "report.json").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Correct"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("missing predictions (1): m2"), std::string::npos) << r.out;
  auto j = nlohmann::json::parse(test::read_text(dir / "report.json"));
  EXPECT_EQ(j["overall"]["n"], 2);
  EXPECT_EQ(j["overall"]["S"], 5.0);
  EXPECT_EQ(j["missing_predictions"][0], "m2");
  auto strict = test::run_cli({"eval", "--predictions", (dir / "preds.jsonl").string(), "--manifest",
                               (dir / "test.jsonl").string(), "--strict"});
  EXPECT_EQ(strict.exit_code, 3) << strict.err;
  auto bad = test::run_cli({"eval", "--predictions", (dir / "nope.jsonl").string(), "--manifest",
                            (dir / "test.jsonl").string()});
  EXPECT_EQ(bad.exit_code, 3);
  EXPECT_NE(bad.err.find("nope.jsonl"), std::string::npos);
}

}  // namespace
}  // namespace ec::eval
