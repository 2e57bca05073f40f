// `editcaption report`: the HTML is self-contained, carries every section, and renders in headless
// Chromium (screenshot of the expected size with real content; the DOM holds the key elements).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdlib>
#include <set>

#include "editcaption/eval/svg_chart.h"
#include "tests/common/test_util.h"

namespace ec {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

size_t count(const std::string& s, const std::string& part) {
  size_t n = 0;
  for (size_t pos = 0; (pos = s.find(part, pos)) != std::string::npos; pos += part.size()) ++n;
  return n;
}

// Two runs (SFT, DPO), an ablation.json with four variants, a test manifest with images, and
// per-variant predictions and per-sample scores.
struct ReportFixture {
  test::TempDir dir{"ec-report"};
  ReportFixture() {
    std::string sft, dpo;
    for (int step = 1; step <= 300; ++step) {
      sft += json{{"time", 1.7e9 + step}, {"rank", 0}, {"step", step}, {"loss", 3.0 * std::exp(-step / 80.0) + 0.2},
                  {"grad_norm", 1.0 + 0.3 * std::sin(step / 7.0)}, {"lr", 2e-5 * std::min(1.0, step / 30.0)},
                  {"tokens_per_s", 900 + 50 * std::sin(step / 11.0)}}.dump() + "\n";
    }
    sft += "{torn line\n";
    for (int step = 1; step <= 120; ++step) {
      double m = 2.0 * (1 - std::exp(-step / 40.0));
      dpo += json{{"time", 1.7e9 + step}, {"rank", 0}, {"step", step}, {"loss", std::log1p(std::exp(-m))},
                  {"rewards/chosen", m / 2}, {"rewards/rejected", -m / 2}, {"rewards/margins", m},
                  {"rewards/accuracies", std::min(1.0, 0.5 + step / 200.0)}, {"logps/chosen", -40 + step * 0.05},
                  {"logps/rejected", -42 - step * 0.1}, {"lr", 5e-7}, {"tokens_per_s", 400.0},
                  {"custom_metric", step * 0.5}}.dump() + "\n";
    }
    test::write_text(dir / "runs/sft/metrics.jsonl", sft);
    test::write_text(dir / "runs/dpo/metrics.jsonl", dpo);

    fs::create_directories(dir / "runs/ablation/data");
    std::string manifest;
    for (int i = 0; i < 6; ++i) {
      cv::Mat a(96, 128, CV_8UC3, cv::Scalar(40 * i, 120, 200)), b(96, 128, CV_8UC3, cv::Scalar(200, 40 * i, 90));
      cv::rectangle(a, cv::Rect(10 + 5 * i, 20, 30, 30), cv::Scalar(0, 0, 255), -1);
      cv::rectangle(b, cv::Rect(70, 20, 30, 30), cv::Scalar(0, 0, 255), -1);
      cv::imwrite((dir / ("runs/ablation/data/s" + std::to_string(i) + ".png")).string(), a);
      cv::imwrite((dir / ("runs/ablation/data/t" + std::to_string(i) + ".png")).string(), b);
      manifest += json{{"id", "test-" + std::to_string(i)}, {"source", "s" + std::to_string(i) + ".png"},
                       {"target", "t" + std::to_string(i) + ".png"}, {"instruction", "Move the red square right."},
                       {"category", "structural"},
                       {"gt", {{"primary", {"The red square moves to the right."}}, {"overall", "Square moved right <b>."}}}}
                      .dump() + "\n";
    }
    test::write_text(dir / "runs/ablation/data/test.jsonl", manifest);
    json variants = json::array();
    const char* names[] = {"SFT only", "DPO only", "SFT+DPO", "SFT+HAE-DPO"};
    double S[] = {4.1, 2.9, 4.3, 4.35};
    for (int v = 0; v < 4; ++v) {
      std::string preds, per;
      for (int i = 0; i < 6; ++i) {
        std::string id = "test-" + std::to_string(i);
        preds += json{{"id", id}, {"instruction", std::string(names[v]) + " says move it " + (v == 1 ? "left" : "right")}}.dump() + "\n";
        json ps = {{"id", id}, {"S", v == 1 && i == 3 ? 1.2 : S[v]}, {"severity", v == 1 ? "P0" : "correct"}};
        if (v == 1) ps["defects"] = {{{"type", "orientation"}, {"severity", "P0"}, {"detail", "left/right flipped"}}};
        per += ps.dump() + "\n";
      }
      std::string sub = fmt::format("eval/v{}", v);
      test::write_text(dir / "runs/ablation" / sub / "predictions.jsonl", preds);
      test::write_text(dir / "runs/ablation" / sub / "per_sample.jsonl", per);
      variants.push_back({{"name", names[v]}, {"test_set", "synthetic-test"}, {"run", "runs/" + std::to_string(v)},
                          {"samples", 6}, {"S", S[v]}, {"Acc", S[v] - 0.1}, {"Comp", S[v] + 0.2}, {"Clar", S[v] - 0.3},
                          {"Correct", 0.6 - 0.1 * (v == 1)}, {"P0", v == 1 ? 0.4 : 0.2}, {"P1", 0.15}, {"P2", 0.05},
                          {"failure_modes", {{"orientation", v == 1 ? 0.3 : 0.05 * (3 - v % 3)}, {"viewpoint", 0.04 + 0.01 * v},
                                             {"attribute", 0.2 - 0.03 * v}}},
                          {"predictions", sub + "/predictions.jsonl"}, {"per_sample", sub + "/per_sample.jsonl"}});
    }
    json ablation = {{"schema", "editcaption.ablation/1"}, {"title", "Training strategy"}, {"model", "tiny-qwen2vl"},
                     {"manifest", "data/test.jsonl"}, {"variants", variants}};
    test::write_text(dir / "runs/ablation/ablation.json", ablation.dump(2));
  }
};

TEST(Report, SelfContainedWithEverySection) {
  ReportFixture f;
  fs::path out = f.dir / "report.html";
  auto r = test::run_cli({"report", (f.dir / "runs").string(), "--out", out.string(), "--gallery", "4", "--tensorboard",
                          (f.dir / "tb").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("2 run(s), 1 ablation(s)"), std::string::npos) << r.out;
  std::string html = test::read_text(out);
  for (const char* id : {"id=\"curves\"", "id=\"chart-loss\"", "id=\"chart-rewards\"", "id=\"chart-margins\"",
                         "id=\"chart-reward-accuracy\"", "id=\"chart-logps\"", "id=\"chart-lr\"", "id=\"chart-throughput\"",
                         "id=\"chart-grad-norm\"", "id=\"chart-other-0\"", "id=\"ablation-table\"",
                         "id=\"chart-failure-modes\"", "id=\"gallery\"", "id=\"notes\""}) {
    EXPECT_NE(html.find(id), std::string::npos) << id;
  }
  // The table: four variants, best S in bold, rates as percentages.
  EXPECT_NE(html.find("<td class=\"best\">4.350</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>2.900</td>"), std::string::npos);
  EXPECT_NE(html.find("40.0%"), std::string::npos);
  // Gallery: 4 cards, the pair where the variants disagree most first, thumbnails embedded.
  EXPECT_EQ(count(html, "<div class=\"card\""), 4u);
  EXPECT_LT(html.find("data-id=\"test-3\""), html.find("data-id=\"test-0\""));
  EXPECT_EQ(count(html, "src=\"data:image/jpeg;base64,"), 8u);
  EXPECT_NE(html.find("P0 orientation: left/right flipped"), std::string::npos);
  EXPECT_NE(html.find("Square moved right &lt;b&gt;."), std::string::npos);  // escaped ground truth
  EXPECT_NE(html.find("unreadable metrics line"), std::string::npos);       // the torn line is a note
  // Nothing is fetched: no external scripts, styles, images or fonts.
  for (const char* bad : {"src=\"http", "href=\"http", "<link", "@import", "url(http", "<script"}) {
    EXPECT_EQ(html.find(bad), std::string::npos) << bad;
  }
  // TensorBoard export of both runs.
  EXPECT_TRUE(fs::exists(f.dir / "tb/sft"));
  EXPECT_TRUE(fs::exists(f.dir / "tb/dpo"));
}

TEST(Report, BadAblationFileNamesKey) {
  test::TempDir dir;
  test::write_text(dir / "a/ablation.json",
                   R"({"schema":"editcaption.ablation/1","variants":[{"name":"SFT","P0":23.0}]})");
  auto r = test::run_cli({"report", (dir / "a").string(), "--out", (dir / "r.html").string()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("variants[0] ('SFT'): 'P0' = 23 is not a fraction in [0, 1]"), std::string::npos) << r.err;
  fs::create_directories(dir / "empty/sub");
  auto none = test::run_cli({"report", (dir / "empty").string(), "--out", (dir / "r.html").string()});
  EXPECT_EQ(none.exit_code, 3);
}

TEST(Report, NiceTicks) {
  auto t = eval::nice_ticks(0.0, 1.0, 5);
  ASSERT_EQ(t.size(), 6u);
  EXPECT_DOUBLE_EQ(t[1], 0.2);
  auto u = eval::nice_ticks(-3.2, 41.0, 5);
  EXPECT_DOUBLE_EQ(u.front(), 0.0);
  EXPECT_DOUBLE_EQ(u[1] - u[0], 10.0);
}

// Headless Chromium: skipped (with the reason) only if no browser can start at all.
std::string chromium_binary() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    for (const char* dir : {"/usr/bin/", "/usr/local/bin/", "/snap/bin/"}) {
      std::string p = std::string(dir) + name;
      if (fs::exists(p)) return p;
    }
  }
  return "";
}

std::vector<std::string> chromium_args(const std::string& bin, const fs::path& profile) {
  return {bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
          "--hide-scrollbars", "--mute-audio", "--user-data-dir=" + profile.string()};
}

// Empty if chromium starts, else why not (the tests then skip with that message).
std::string chromium_unavailable(const std::string& bin, const fs::path& profile) {
  if (bin.empty()) return "no chromium binary (install Debian's `chromium`: tools/setup.sh --test)";
  auto probe_args = chromium_args(bin, profile);
  probe_args.insert(probe_args.end(), {"--dump-dom", "about:blank"});
  auto probe = test::run_command(probe_args);
  if (probe.exit_code != 0 || probe.out.find("<html") == std::string::npos) {
    return "chromium cannot start here (exit " + std::to_string(probe.exit_code) + "): " + probe.err.substr(0, 400);
  }
  return "";
}

TEST(Report, RendersInHeadlessChromium) {
  std::string bin = chromium_binary();
  if (bin.empty()) GTEST_SKIP() << chromium_unavailable(bin, {});
  test::TempDir profile("ec-chromium");

  ReportFixture f;
  fs::path out = f.dir / "report.html";
  ASSERT_EQ(test::run_cli({"report", (f.dir / "runs").string(), "--out", out.string(), "--gallery", "3"}).exit_code, 0);
  std::string url = "file://" + fs::absolute(out).string();

  auto dom_args = chromium_args(bin, profile.path());
  dom_args.insert(dom_args.end(), {"--dump-dom", url});
  auto dom = test::run_command(dom_args);
  if (dom.exit_code != 0) {
    // Skip only if the browser cannot start at all; a page it cannot render is a failure.
    if (auto why = chromium_unavailable(bin, profile.path()); !why.empty()) GTEST_SKIP() << why;
  }
  ASSERT_EQ(dom.exit_code, 0) << dom.err.substr(0, 400);
  for (const char* id : {"id=\"chart-loss\"", "id=\"chart-margins\"", "id=\"ablation-table\"", "id=\"chart-failure-modes\"",
                         "id=\"gallery\""}) {
    EXPECT_NE(dom.out.find(id), std::string::npos) << id;
  }
  EXPECT_EQ(count(dom.out, "class=\"card\""), 3u);
  EXPECT_GE(count(dom.out, "<polyline"), 10u);
  EXPECT_GE(count(dom.out, "class=\"bar\""), 12u);  // 3 failure modes x 4 variants

  fs::path shot = f.dir / "shot.png";
  auto shot_args = chromium_args(bin, profile.path());
  shot_args.insert(shot_args.end(), {"--window-size=1280,1800", "--screenshot=" + shot.string(), url});
  auto s = test::run_command(shot_args);
  ASSERT_EQ(s.exit_code, 0) << s.err.substr(0, 400);
  cv::Mat img = cv::imread(shot.string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(img.empty()) << "no screenshot at " << shot;
  EXPECT_EQ(img.cols, 1280);
  EXPECT_EQ(img.rows, 1800);
  // Not blank: the dark header, white panels and colored curves give spread and many colors.
  cv::Scalar mean, stddev;
  cv::meanStdDev(img, mean, stddev);
  EXPECT_GT(stddev[0] + stddev[1] + stddev[2], 30.0);
  cv::Mat header = img(cv::Rect(0, 0, 1280, 40));
  EXPECT_LT(cv::mean(header)[0], 120.0) << "the header bar is not drawn";
  std::set<int> colors;
  for (int y = 0; y < img.rows; y += 3) {
    for (int x = 0; x < img.cols; x += 3) {
      auto p = img.at<cv::Vec3b>(y, x);
      colors.insert((p[0] >> 3) << 10 | (p[1] >> 3) << 5 | (p[2] >> 3));
    }
  }
  EXPECT_GT(colors.size(), 50u);
}

TEST(Report, ReviewSheetSavedByTheBrowserImports) {
  // The review page's own CSV writer (what "Download CSV" saves), run by Chromium on a filled
  // page, must produce a sheet that review-import reads back exactly.
  std::string bin = chromium_binary();
  if (bin.empty()) GTEST_SKIP() << chromium_unavailable(bin, {});
  test::TempDir profile("ec-chromium");
  test::TempDir dir("ec-review-browser");
  cv::Mat img(40, 40, CV_8UC3, cv::Scalar(10, 200, 30));
  cv::imwrite((dir / "a.png").string(), img);
  cv::imwrite((dir / "b.png").string(), img);
  test::write_text(dir / "m.jsonl", "{\"id\":\"p0\",\"source\":\"a.png\",\"target\":\"b.png\",\"instruction\":\"ref\"}\n"
                                    "{\"id\":\"p1\",\"source\":\"a.png\",\"target\":\"b.png\",\"instruction\":\"ref\"}\n");
  test::write_text(dir / "p.jsonl", "{\"id\":\"p0\",\"instruction\":\"move it left, \\\"now\\\"\"}\n"
                                    "{\"id\":\"p1\",\"instruction\":\"make it blue\"}\n");
  ASSERT_EQ(test::run_cli({"data", "review-export", (dir / "m.jsonl").string(), "--predictions", (dir / "p.jsonl").string(),
                           "--out", (dir / "sheet").string()}).exit_code, 0);
  const std::string fixed = "Move the green cup to the right edge, then say \"done\";\nkeep the \xe8\x93\x9d\xe8\x89\xb2 plate";
  std::string html = test::read_text(dir / "sheet/review.html");
  std::string fill =
      "<script>\nvar tr = document.querySelectorAll('#sheet tbody tr');\n"
      "tr[0].querySelector('textarea.corrected').value = " + nlohmann::json(fixed).dump() + ";\n"
      "tr[0].querySelector('select.error_type').value = 'orientation';\n"
      "tr[0].querySelector('select.severity').value = 'P0';\n"
      "tr[1].querySelector('select.error_type').value = 'none';\n"
      "var pre = document.createElement('pre'); pre.id = 'csvout'; pre.textContent = window.reviewCsv();\n"
      "document.body.appendChild(pre);\n</script>\n";
  html.insert(html.rfind("</body>"), fill);
  test::write_text(dir / "sheet/filled.html", html);
  auto args = chromium_args(bin, profile.path());
  args.insert(args.end(), {"--dump-dom", "file://" + (dir / "sheet/filled.html").string()});
  auto dom = test::run_command(args);
  if (dom.exit_code != 0) {
    if (auto why = chromium_unavailable(bin, profile.path()); !why.empty()) GTEST_SKIP() << why;
  }
  ASSERT_EQ(dom.exit_code, 0) << dom.err.substr(0, 400);
  size_t begin = dom.out.find("<pre id=\"csvout\">"), end = dom.out.find("</pre>", begin);
  ASSERT_NE(begin, std::string::npos) << "the page's script did not run";
  std::string csv = dom.out.substr(begin + 17, end - begin - 17);
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{{"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}}) {
    for (size_t p = 0; (p = csv.find(from, p)) != std::string::npos; p += to.size()) csv.replace(p, from.size(), to);
  }
  test::write_text(dir / "sheet/filled.csv", csv);
  auto dpo = test::run_cli({"data", "review-import", (dir / "sheet/filled.csv").string(), "--mode", "dpo", "--out",
                            (dir / "dpo.jsonl").string(), "--strict"});
  ASSERT_EQ(dpo.exit_code, 0) << dpo.out << dpo.err;
  auto rec = nlohmann::json::parse(test::read_text(dir / "dpo.jsonl"));
  EXPECT_EQ(rec["chosen"], fixed);
  EXPECT_EQ(rec["rejected"], "move it left, \"now\"");
  EXPECT_EQ(rec["error_type"], "orientation");
  EXPECT_EQ(rec["severity"], "P0");
  EXPECT_EQ(rec["source"], "a.png");
}

}  // namespace
}  // namespace ec
