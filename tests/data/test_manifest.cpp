// Manifests: every bad input of issue 3 gets its line, id and reason (malformed JSON, invalid
// UTF-8, empty instruction, duplicate ids, paths escaping the dataset root, missing files, bad
// enums and types, `gt` structure), plus the token budget (downscale or reject) and the report.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "editcaption/core/error.h"
#include "editcaption/data/manifest.h"
#include "editcaption/data/manifest_check.h"
#include "editcaption/data/sample_budget.h"
#include "tests/common/test_util.h"

namespace ec::data {
namespace {

namespace fs = std::filesystem;

void write_png(const fs::path& p, int h, int w) {
  fs::create_directories(p.parent_path());
  cv::Mat m(h, w, CV_8UC3, cv::Scalar(20, 40, 60));
  ASSERT_TRUE(cv::imwrite(p.string(), m));
}

/// A dataset directory with a few images.
struct Dataset {
  test::TempDir dir{"ec-manifest"};
  Dataset() {
    write_png(dir / "img/a.png", 64, 96);
    write_png(dir / "img/b.png", 96, 64);
    write_png(dir / "img/big.png", 1024, 1024);
  }
  fs::path write(const std::string& name, const std::string& text) {
    test::write_text(dir / name, text);
    return dir / name;
  }
};

const ManifestRecord& line(const Manifest& m, int64_t n) {
  for (const auto& r : m.records) {
    if (r.line == n) return r;
  }
  throw std::runtime_error("no record on line " + std::to_string(n));
}

void expect_problem(const Manifest& m, int64_t n, const std::string& part) {
  const ManifestRecord& r = line(m, n);
  ASSERT_FALSE(r.ok()) << "line " << n << " should be bad (" << part << ")";
  EXPECT_NE(r.problem->find(part), std::string::npos) << "line " << n << ": " << *r.problem;
}

TEST(Manifest, ReadsValidSftAndDpoRecords) {
  Dataset d;
  auto sft = d.write("sft.jsonl",
                     R"({"id": "p1", "source": "img/a.png", "target": "img/b.png", "instruction": "Move the red mug left.", "category": "structural", "subcategory": "move", "gt": {"primary": [{"type": "move", "object": "mug", "direction": "left"}], "secondary": [], "overall": "mug moved"}})"
                     "\n\n"
                     R"({"id": 7, "source": "img/b.png", "target": "img/a.png", "instruction": "Make it blue."})"
                     "\n");
  Manifest m = read_manifest(sft);
  EXPECT_EQ(m.kind, ManifestKind::Sft);
  ASSERT_EQ(m.size(), 2);
  EXPECT_EQ(m.num_bad(), 0);
  EXPECT_EQ(m.records[0].category, EditCategory::Structural);
  EXPECT_EQ(m.records[0].subcategory, "move");
  EXPECT_EQ((*m.records[0].gt)["primary"][0]["direction"], "left");
  EXPECT_EQ(m.records[0].source, (fs::absolute(d.dir.path()) / "img/a.png").lexically_normal());
  EXPECT_EQ(m.records[1].id, "7");
  EXPECT_EQ(m.records[1].line, 3);  // blank lines keep the numbering
  EXPECT_EQ(m.fingerprint.size(), 64u);

  auto dpo = d.write("dpo.jsonl",
                     R"({"id": "d1", "source": "img/a.png", "target": "img/b.png", "chosen": "Move the mug left.", "rejected": "Move the mug right.", "error_type": "orientation", "severity": "P0", "margin": 0.5, "weight": 2})"
                     "\n");
  Manifest md = read_manifest(dpo);
  EXPECT_EQ(md.kind, ManifestKind::Dpo);
  ASSERT_TRUE(md.records[0].ok()) << *md.records[0].problem;
  EXPECT_EQ(md.records[0].error_type, ErrorType::Orientation);
  EXPECT_EQ(md.records[0].severity, Severity::P0);
  EXPECT_EQ(md.records[0].margin, 0.5);
  EXPECT_EQ(md.records[0].weight, 2.0);
}

TEST(Manifest, EveryBadLineGetsItsLineIdAndReason) {
  Dataset d;
  std::string bad_utf8 = R"({"id": "u1", "source": "img/a.png", "target": "img/b.png", "instruction": "caf)";
  bad_utf8 += "\xC3\x28";  // invalid continuation byte
  bad_utf8 += R"("})";
  auto path = d.write(
      "m.jsonl",
      std::string(R"({"id": "ok", "source": "img/a.png", "target": "img/b.png", "instruction": "fine"})") + "\n" +  // 1
          R"({"id": "broken", "source": "img/a.png", "target": )" + "\n" +                                          // 2
          bad_utf8 + "\n" +                                                                                          // 3
          R"({"id": "empty", "source": "img/a.png", "target": "img/b.png", "instruction": "   "})" + "\n" +          // 4
          R"({"id": "ok", "source": "img/b.png", "target": "img/a.png", "instruction": "dup"})" + "\n" +            // 5
          R"({"id": "escape", "source": "../../etc/passwd", "target": "img/b.png", "instruction": "x"})" + "\n" +  // 6
          R"({"id": "abs", "source": "/etc/hosts", "target": "img/b.png", "instruction": "x"})" + "\n" +           // 7
          R"({"id": "cat", "source": "img/a.png", "target": "img/b.png", "instruction": "x", "category": "semantik"})" + "\n" +  // 8
          R"({"id": "gt", "source": "img/a.png", "target": "img/b.png", "instruction": "x", "gt": {"primary": "move", "overall": 3}})" + "\n" +  // 9
          R"({"id": "noinstr", "source": "img/a.png", "target": "img/b.png"})" + "\n" +  // 10
          R"([1, 2, 3])" + "\n" +                                                         // 11
          R"({"id": "types", "source": 5, "target": "img/b.png", "instruction": ["x"]})" + "\n" +  // 12
          R"({"id": "dpo", "source": "img/a.png", "target": "img/b.png", "chosen": "a", "rejected": "b"})" + "\n" +  // 13
          R"({"id": "typo", "source": "img/a.png", "target": "img/b.png", "instruction": "x", "catgory": "semantic"})" + "\n");  // 14
  Manifest m = read_manifest(path);
  EXPECT_EQ(m.kind, ManifestKind::Sft);
  EXPECT_EQ(m.size(), 14);
  EXPECT_TRUE(line(m, 1).ok());
  expect_problem(m, 2, "malformed JSON");
  EXPECT_EQ(line(m, 2).id, "broken");  // the id is still reported
  expect_problem(m, 3, "invalid UTF-8 at byte");
  EXPECT_EQ(line(m, 3).id, "u1");
  expect_problem(m, 4, "empty 'instruction'");
  expect_problem(m, 5, "duplicate id (first used on line 1)");
  expect_problem(m, 6, "escapes the dataset root");
  expect_problem(m, 7, "escapes the dataset root");
  expect_problem(m, 8, "did you mean 'semantic'?");
  expect_problem(m, 9, "'gt.primary' must be an array");
  expect_problem(m, 9, "'gt.overall' must be a string");
  expect_problem(m, 10, "missing 'instruction'");
  expect_problem(m, 11, "expected a JSON object");
  expect_problem(m, 12, "'source' must be a string");
  expect_problem(m, 12, "'instruction' must be a string");
  expect_problem(m, 13, "a DPO record");
  EXPECT_TRUE(line(m, 14).ok());
  ASSERT_FALSE(m.warnings.empty());
  EXPECT_NE(m.warnings.back().reason.find("did you mean 'category'?"), std::string::npos) << m.warnings.back().reason;
  EXPECT_EQ(m.num_bad(), 12);
  ManifestProblem p{2, "broken", "malformed JSON"};
  EXPECT_EQ(p.str("m.jsonl"), "m.jsonl:2 [id broken]: malformed JSON");

  // Escaping paths are accepted when allowed.
  ManifestOptions allow;
  allow.allow_outside_root = true;
  Manifest m2 = read_manifest(path, allow);
  EXPECT_TRUE(line(m2, 6).ok());
  EXPECT_TRUE(line(m2, 7).ok());
}

TEST(Manifest, DpoSpecificChecks) {
  Dataset d;
  auto path = d.write(
      "dpo.jsonl",
      std::string(R"({"id": "1", "source": "img/a.png", "target": "img/b.png", "chosen": "Go left.", "rejected": " Go left. "})") + "\n" +
          R"({"id": "2", "source": "img/a.png", "target": "img/b.png", "chosen": "a", "rejected": "b", "severity": "P3", "error_type": "orientaton"})" + "\n" +
          R"({"id": "3", "source": "img/a.png", "target": "img/b.png", "chosen": "a", "rejected": "b", "weight": 0, "margin": "big"})" + "\n" +
          R"({"id": "4", "source": "img/a.png", "target": "img/b.png", "instruction": "sft"})" + "\n" +
          R"({"id": "5", "source": "img/a.png", "target": "img/b.png", "chosen": "", "rejected": "b"})" + "\n");
  Manifest m = read_manifest(path);
  EXPECT_EQ(m.kind, ManifestKind::Dpo);
  expect_problem(m, 1, "'chosen' and 'rejected' are identical");
  expect_problem(m, 2, "'severity' must be one of P0, P1, P2");
  expect_problem(m, 2, "did you mean 'orientation'?");
  expect_problem(m, 3, "'weight' must be > 0");
  expect_problem(m, 3, "'margin' must be a number");
  expect_problem(m, 4, "an SFT record");
  expect_problem(m, 5, "empty 'chosen'");
}

TEST(Manifest, UnreadableOrEmptyManifests) {
  Dataset d;
  EXPECT_THROW(read_manifest(d.dir / "missing.jsonl"), UserError);
  auto empty = d.write("empty.jsonl", "\n  \n");
  try {
    read_manifest(empty);
    FAIL();
  } catch (const UserError& e) {
    EXPECT_EQ(e.code(), ExitCode::Input);
    EXPECT_NE(std::string(e.what()).find("no records"), std::string::npos);
  }
}

TEST(Manifest, CheckFindsMissingAndBrokenImagesAndCounts) {
  Dataset d;
  test::write_text(d.dir / "img/trunc.png", test::read_text(d.dir / "img/a.png").substr(0, 100));
  auto path = d.write(
      "m.jsonl",
      std::string(R"({"id": "1", "source": "img/a.png", "target": "img/b.png", "instruction": "x", "category": "semantic"})") + "\n" +
          R"({"id": "2", "source": "img/a.png", "target": "img/nope.png", "instruction": "x", "category": "structural"})" + "\n" +
          R"({"id": "3", "source": "img/trunc.png", "target": "img/b.png", "instruction": "x"})" + "\n" +
          R"({"id": "4", "source": "img/b.png", "target": "img/a.png", "instruction": "y", "category": "structural", "subcategory": "move"})" + "\n" +
          R"({"id": "5", "source": "img", "target": "img/a.png", "instruction": "z"})" + "\n");
  Manifest m = read_manifest(path);
  CheckOptions o;
  o.image = ImageProcessorOptions::for_family(ModelFamily::Qwen2VL);
  o.progress = false;
  CheckReport r = check_manifest(m, o);
  EXPECT_EQ(r.records, 5);
  EXPECT_EQ(r.valid, 2);
  ASSERT_EQ(r.problems.size(), 3u);
  EXPECT_EQ(r.problems[0].line, 2);
  EXPECT_EQ(r.problems[0].id, "2");
  EXPECT_NE(r.problems[0].reason.find("nope.png: file not found"), std::string::npos) << r.problems[0].reason;
  EXPECT_NE(r.problems[1].reason.find("truncated PNG"), std::string::npos) << r.problems[1].reason;
  EXPECT_NE(r.problems[2].reason.find("not a regular file"), std::string::npos) << r.problems[2].reason;
  EXPECT_EQ(r.by_category.at("semantic"), 1);
  EXPECT_EQ(r.by_category.at("structural"), 1);
  EXPECT_EQ(r.by_subcategory.at("move"), 1);
  std::string text = format_check_report(r);
  EXPECT_NE(text.find("m.jsonl:2 [id 2]: "), std::string::npos) << text;
  auto j = check_report_json(r);
  EXPECT_EQ(j["bad"], 3);
  // Headers only: the same problems here (the truncation is structural).
  o.decode = false;
  EXPECT_EQ(check_manifest(m, o).problems.size(), 3u);
}

TEST(Budget, OverBudgetSamplesAreDownscaledOrRejected) {
  auto o = ImageProcessorOptions::for_family(ModelFamily::Qwen2VL);
  BudgetConfig b;
  b.max_seq_len = 4096;
  // Two 1024x1024 images: 1369 tokens each at full size (1036x1036 -> 37x37 merged).
  SamplePlan full = plan_sample(1024, 1024, 1024, 1024, 100, o, b);
  EXPECT_FALSE(full.downscaled);
  EXPECT_EQ(full.image_tokens, 2 * 37 * 37);
  b.max_seq_len = 1000;
  SamplePlan small = plan_sample(1024, 1024, 1024, 1024, 100, o, b);
  EXPECT_TRUE(small.downscaled);
  EXPECT_LE(small.total_tokens(), 1000);
  EXPECT_GT(small.total_tokens(), 800);  // the largest size that fits, not any size
  EXPECT_EQ(small.image_tokens, small.source_grid[1] * small.source_grid[2] / 4 * 2);
  // The plan's max_pixels reproduces its grid through the processor.
  auto po = options_for_plan(o, small);
  EXPECT_EQ(image_grid(1024, 1024, po), small.source_grid);
  b.over_budget = OverBudget::Reject;
  try {
    plan_sample(1024, 1024, 1024, 1024, 100, o, b);
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("over the token budget"), std::string::npos);
  }
  b.over_budget = OverBudget::Downscale;
  EXPECT_THROW(plan_sample(1024, 1024, 1024, 1024, 1200, o, b), UserError);  // text alone too long
  b.max_seq_len = 105;  // two 56x56 images at min_pixels: 8 tokens
  EXPECT_THROW(plan_sample(1024, 1024, 1024, 1024, 100, o, b), UserError);  // not even at min_pixels
}

}  // namespace
}  // namespace ec::data
