// `data filter`, `data review-export` and `data review-import`: thresholds with reasons, joined
// scores, paths that stay valid, and a review sheet that round-trips through CSV.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "editcaption/io/csv.h"
#include "tests/common/test_util.h"

namespace ec {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

std::vector<json> read_jsonl(const fs::path& p) {
  std::vector<json> out;
  std::istringstream in(test::read_text(p));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

TEST(DataFilter, ThresholdsScoresAndReasons) {
  test::TempDir dir;
  test::write_text(dir / "data/m.jsonl",
                   R"({"id":"a","source":"img/a0.png","target":"img/a1.png","instruction":"x","editscore":8.5,"q":{"clip":0.3}})" "\n"
                   R"({"id":"b","source":"img/b0.png","target":"img/b1.png","instruction":"x","editscore":6.0,"q":{"clip":0.4}})" "\n"
                   R"({"id":"c","source":"img/c0.png","target":"img/c1.png","instruction":"x","q":{"clip":0.35}})" "\n"
                   "{not json\n"
                   R"({"id":"e","source":"img/e0.png","target":"img/e1.png","instruction":"x","editscore":"high","q":{"clip":0.1}})" "\n"
                   R"({"id":"f","source":"/abs/f0.png","target":"img/f1.png","instruction":"x","editscore":9,"q":{"clip":0.9}})" "\n");
  test::write_text(dir / "scores.jsonl", "{\"id\":\"a\",\"S\":4.2}\n{\"id\":\"f\",\"S\":3.1}\n{\"id\":\"b\",\"S\":4.9}\n");
  auto r = test::run_cli({"data", "filter", (dir / "data/m.jsonl").string(), "--out", (dir / "out/kept.jsonl").string(),
                          "--min", "editscore=7", "--max", "q.clip=0.8", "--min", "scores.S=4",
                          "--scores", (dir / "scores.jsonl").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("kept 1 of 6 records (5 dropped)"), std::string::npos) << r.out;
  auto kept = read_jsonl(dir / "out/kept.jsonl");
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0]["id"], "a");
  // Written elsewhere: relative image paths now point from out/ back into data/.
  EXPECT_EQ(kept[0]["source"], "../data/img/a0.png");
  auto rep = json::parse(test::read_text(dir / "out/kept.jsonl.filter_report.json"));
  EXPECT_EQ(rep["kept"], 1);
  EXPECT_EQ(rep["reasons"]["editscore < 7"], 1);           // b
  EXPECT_EQ(rep["reasons"]["missing field 'editscore'"], 1);  // c
  EXPECT_EQ(rep["reasons"]["unreadable record"], 1);        // line 4
  EXPECT_EQ(rep["reasons"]["field 'editscore' is not a number"], 1);  // e
  EXPECT_EQ(rep["reasons"]["q.clip > 0.8"], 1);             // f
  EXPECT_EQ(rep["reasons"]["scores.S < 4"], 1);             // f
  EXPECT_EQ(rep["reasons"]["no scores for this id in scores.jsonl"], 2);  // c, e
  bool found_f = false;
  for (const auto& d : rep["dropped_records"]) {
    if (d["id"] == "f") {
      found_f = true;
      EXPECT_EQ(d["line"], 6);
      EXPECT_EQ(d["reasons"].size(), 2u);
    }
    if (d["line"] == 4) {
      EXPECT_TRUE(d["reasons"][0].get<std::string>().starts_with("unreadable record: malformed JSON"));
    }
  }
  EXPECT_TRUE(found_f);

  // In the same directory the kept lines are copied byte for byte; --keep-missing keeps c.
  auto same = test::run_cli({"data", "filter", (dir / "data/m.jsonl").string(), "--out", (dir / "data/k.jsonl").string(),
                             "--min", "editscore=7", "--keep-missing"});
  ASSERT_EQ(same.exit_code, 0) << same.err;
  std::string text = test::read_text(dir / "data/k.jsonl");
  EXPECT_NE(text.find(R"({"id":"a","source":"img/a0.png")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("id":"c")"), std::string::npos);
  EXPECT_NE(text.find(R"("source":"/abs/f0.png")"), std::string::npos);
  EXPECT_EQ(read_jsonl(dir / "data/k.jsonl").size(), 3u);
}

TEST(DataFilter, UsageErrors) {
  test::TempDir dir;
  test::write_text(dir / "m.jsonl", "{\"id\":\"a\",\"source\":\"a\",\"target\":\"b\"}\n");
  EXPECT_EQ(test::run_cli({"data", "filter", (dir / "m.jsonl").string(), "--out", (dir / "o.jsonl").string()}).exit_code, 2);
  auto bad = test::run_cli({"data", "filter", (dir / "m.jsonl").string(), "--out", (dir / "o.jsonl").string(), "--min", "x=abc"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("'abc' is not a number"), std::string::npos) << bad.err;
  test::write_text(dir / "s.jsonl", "{\"id\":\"a\",\"S\":1}\n{\"id\":\"a\",\"S\":2}\n");
  auto dup = test::run_cli({"data", "filter", (dir / "m.jsonl").string(), "--out", (dir / "o.jsonl").string(), "--min",
                            "scores.S=1", "--scores", (dir / "s.jsonl").string()});
  EXPECT_EQ(dup.exit_code, 3);
  EXPECT_NE(dup.err.find("s.jsonl:2: duplicate id 'a'"), std::string::npos) << dup.err;
}

struct ReviewFixture {
  test::TempDir dir{"ec-review"};
  ReviewFixture() {
    cv::Mat a(60, 80, CV_8UC3, cv::Scalar(0, 0, 255)), b(60, 80, CV_8UC3, cv::Scalar(255, 0, 0));
    fs::create_directories(dir / "data/img");
    for (int i = 0; i < 4; ++i) {
      cv::imwrite((dir / ("data/img/s" + std::to_string(i) + ".png")).string(), a);
      cv::imwrite((dir / ("data/img/t" + std::to_string(i) + ".png")).string(), b);
    }
    std::string m, p;
    for (int i = 0; i < 4; ++i) {
      std::string id = "p" + std::to_string(i);
      m += json{{"id", id}, {"source", "img/s" + std::to_string(i) + ".png"}, {"target", "img/t" + std::to_string(i) + ".png"},
                {"instruction", "reference " + id}, {"category", "structural"}}.dump() + "\n";
      if (i < 3) p += json{{"id", id}, {"instruction", "Move the cup to the left, \"quickly\"\nthen stop " + id}}.dump() + "\n";
    }
    test::write_text(dir / "data/m.jsonl", m);
    test::write_text(dir / "preds.jsonl", p);
  }
};

TEST(DataReview, ExportWritesCsvAndSelfContainedHtml) {
  ReviewFixture f;
  auto r = test::run_cli({"data", "review-export", (f.dir / "data/m.jsonl").string(), "--predictions",
                          (f.dir / "preds.jsonl").string(), "--out", (f.dir / "sheet").string(), "--thumb", "64"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("1 manifest record(s) have no prediction"), std::string::npos) << r.err;
  auto rows = io::parse_csv(test::read_text(f.dir / "sheet/review.csv"), "review.csv");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].fields[0], "id");
  EXPECT_EQ(rows[1].fields[4], "Move the cup to the left, \"quickly\"\nthen stop p0");
  EXPECT_TRUE(fs::path(rows[1].fields[1]).is_absolute());
  EXPECT_TRUE(fs::exists(rows[1].fields[1]));
  std::string html = test::read_text(f.dir / "sheet/review.html");
  size_t imgs = 0;
  for (size_t pos = 0; (pos = html.find("src=\"data:image/jpeg;base64,", pos)) != std::string::npos; ++pos) ++imgs;
  EXPECT_EQ(imgs, 6u);  // both thumbnails of three rows, embedded
  EXPECT_NE(html.find("<textarea class=\"corrected\">"), std::string::npos);
  EXPECT_NE(html.find("<option value=\"orientation\">"), std::string::npos);
  EXPECT_NE(html.find("<option value=\"P0\">"), std::string::npos);
  EXPECT_NE(html.find("Move the cup to the left, &quot;quickly&quot;"), std::string::npos);
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
}

TEST(DataReview, ImportMakesSftAndDpoAndReportsBadRows) {
  ReviewFixture f;
  ASSERT_EQ(test::run_cli({"data", "review-export", (f.dir / "data/m.jsonl").string(), "--predictions",
                           (f.dir / "preds.jsonl").string(), "--out", (f.dir / "sheet").string()})
                .exit_code, 0);
  auto rows = io::parse_csv(test::read_text(f.dir / "sheet/review.csv"), "review.csv");
  // Fill the sheet as a reviewer would: corrections with commas, quotes, newlines and UTF-8.
  const std::string fixed = "Move the red cup to the LEFT edge, then say \"done\";\nkeep the \xe8\x93\x9d\xe8\x89\xb2 plate";
  rows[1].fields[6] = fixed;
  rows[1].fields[7] = "Orientation";
  rows[1].fields[8] = "p0";
  rows[2].fields[7] = "none";  // the model was right
  // row 3 (p2) left empty: must be reported, not guessed
  std::vector<std::vector<std::string>> sheet;
  for (const auto& r : rows) sheet.push_back(r.fields);
  sheet.push_back({"p9", rows[1].fields[1], rows[1].fields[2], "", "model", "", "fix", "sideways", "P1", ""});
  sheet.push_back({"p8", rows[1].fields[1], rows[1].fields[2], "", "model", "", "fix", "attribute", "P7", ""});
  sheet.push_back({"p7", "only three fields", "x"});
  sheet.push_back({"p0", rows[1].fields[1], rows[1].fields[2], "", "model", "", "fix", "attribute", "P1", ""});
  sheet.push_back({"", "", "", "", "", "", "", "", "", ""});  // blank row: ignored
  std::string csv;
  for (const auto& r : sheet) csv += io::csv_row(r);
  test::write_text(f.dir / "filled/review.csv", csv);

  auto sft = test::run_cli({"data", "review-import", (f.dir / "filled/review.csv").string(), "--mode", "sft", "--out",
                            (f.dir / "data/sft.jsonl").string()});
  ASSERT_EQ(sft.exit_code, 0) << sft.err;
  auto s = read_jsonl(f.dir / "data/sft.jsonl");
  ASSERT_EQ(s.size(), 2u) << sft.out;  // p0 corrected, p1 accepted as is; every other row is reported
  EXPECT_EQ(s[0]["id"], "p0");
  EXPECT_EQ(s[0]["instruction"], fixed);
  EXPECT_EQ(s[0]["source"], "img/s0.png");  // relative to the output manifest again
  EXPECT_EQ(s[1]["instruction"], "Move the cup to the left, \"quickly\"\nthen stop p1");
  EXPECT_NE(sft.out.find("row 4 (line 7) id 'p2': not reviewed"), std::string::npos) << sft.out;
  EXPECT_NE(sft.out.find("id 'p9': error_type 'sideways' is not one of"), std::string::npos) << sft.out;
  EXPECT_NE(sft.out.find("id 'p7': has 3 fields, the header has 10"), std::string::npos) << sft.out;
  EXPECT_NE(sft.out.find("id 'p0': duplicate id"), std::string::npos) << sft.out;
  EXPECT_NE(sft.out.find("1 row(s) accept the model's instruction as is"), std::string::npos) << sft.out;

  auto dpo = test::run_cli({"data", "review-import", (f.dir / "filled/review.csv").string(), "--mode", "dpo", "--out",
                            (f.dir / "data/dpo.jsonl").string(), "--strict"});
  EXPECT_EQ(dpo.exit_code, 3) << dpo.err;  // --strict: some rows were left out
  auto d = read_jsonl(f.dir / "data/dpo.jsonl");
  ASSERT_EQ(d.size(), 1u) << dpo.out;
  EXPECT_EQ(d[0]["chosen"], fixed);
  EXPECT_EQ(d[0]["rejected"], "Move the cup to the left, \"quickly\"\nthen stop p0");
  EXPECT_EQ(d[0]["error_type"], "orientation");
  EXPECT_EQ(d[0]["severity"], "P0");
  EXPECT_EQ(d[0]["category"], "structural");
  EXPECT_NE(dpo.out.find("1 row(s) marked error_type none"), std::string::npos) << dpo.out;
  EXPECT_NE(dpo.out.find("id 'p8': severity 'P7' is not one of P0, P1, P2"), std::string::npos) << dpo.out;
}

TEST(DataReview, ImportRejectsSheetWithoutColumns) {
  test::TempDir dir;
  test::write_text(dir / "x.csv", "id,text\n1,hello\n");
  auto r = test::run_cli({"data", "review-import", (dir / "x.csv").string(), "--mode", "sft", "--out", (dir / "o.jsonl").string()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("no 'source' column"), std::string::npos) << r.err;
  auto m = test::run_cli({"data", "review-import", (dir / "x.csv").string(), "--mode", "rl", "--out", (dir / "o.jsonl").string()});
  EXPECT_EQ(m.exit_code, 2);
}

}  // namespace
}  // namespace ec

namespace ec {
namespace {

TEST(CliGroups, EvalAndDataShareTheirGroups) {
  // `eval` (structured scorer) and `eval judge`; `data check`/`pack` and filter/review commands.
  auto data = test::run_cli({"data", "--help"});
  ASSERT_EQ(data.exit_code, 0) << data.err;
  for (const char* sub : {"check", "filter", "review-export", "review-import"}) {
    EXPECT_NE(data.out.find(sub), std::string::npos) << sub;
  }
  auto eval = test::run_cli({"eval", "--help"});
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_NE(eval.out.find("judge"), std::string::npos);
  auto missing = test::run_cli({"eval", "--manifest", "m.jsonl"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("--predictions"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace ec
