// `editcaption data check`: the report lists counts and every problem with line and id; the exit
// code is 0 unless --strict finds a problem (3, input).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "tests/common/test_util.h"

namespace ec {
namespace {

TEST(DataCli, CheckReportsProblemsAndStrictFails) {
  test::TempDir dir("ec-data-cli");
  std::filesystem::create_directories(dir / "img");
  cv::imwrite((dir / "img/a.png").string(), cv::Mat(40, 60, CV_8UC3, cv::Scalar(1, 2, 3)));
  cv::imwrite((dir / "img/b.jpg").string(), cv::Mat(60, 40, CV_8UC3, cv::Scalar(9, 8, 7)));
  test::write_text(dir / "pairs.jsonl",
                   R"({"id": "good", "source": "img/a.png", "target": "img/b.jpg", "chosen": "Rotate it.", "rejected": "Flip it.", "error_type": "viewpoint", "severity": "P1"})"
                   "\n"
                   R"({"id": "broken", "source": "img/a.png")"
                   "\n"
                   R"({"id": "gone", "source": "img/a.png", "target": "img/missing.png", "chosen": "a", "rejected": "b"})"
                   "\n");
  auto r = test::run_cli({"data", "check", (dir / "pairs.jsonl").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("dpo, 3 records"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("error_type     viewpoint 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("severity       P1 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pairs.jsonl:2 [id broken]: malformed JSON"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pairs.jsonl:3 [id gone]: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("missing.png: file not found"), std::string::npos) << r.out;

  auto strict = test::run_cli({"data", "check", (dir / "pairs.jsonl").string(), "--strict"});
  EXPECT_EQ(strict.exit_code, 3) << strict.err;

  auto json = test::run_cli({"data", "check", (dir / "pairs.jsonl").string(), "--json", "--no-decode", "--family",
                             "qwen2_vl", "--set", "data.budget.max_seq_len=8192"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["valid"], 1);
  EXPECT_EQ(j["bad"], 2);
  EXPECT_EQ(j["max_seq_len"], 8192);
  EXPECT_EQ(j["problems"][0]["line"], 2);

  auto missing = test::run_cli({"data", "check", (dir / "nothing.jsonl").string()});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_NE(missing.err.find("nothing.jsonl: manifest not found"), std::string::npos) << missing.err;
  auto bad_key = test::run_cli({"data", "check", (dir / "pairs.jsonl").string(), "--set", "data.budget.max_seq_lem=1"});
  EXPECT_EQ(bad_key.exit_code, 2);
  EXPECT_NE(bad_key.err.find("did you mean"), std::string::npos) << bad_key.err;
}

TEST(DataCli, PackWritesShardsAndAnIndex) {
  test::TempDir dir("ec-data-pack");
  std::filesystem::create_directories(dir / "img");
  cv::imwrite((dir / "img/a.png").string(), cv::Mat(40, 60, CV_8UC3, cv::Scalar(1, 2, 3)));
  cv::imwrite((dir / "img/b.jpg").string(), cv::Mat(60, 40, CV_8UC3, cv::Scalar(9, 8, 7)));
  test::write_text(dir / "sft.jsonl",
                   R"({"id": "a", "source": "img/a.png", "target": "img/b.jpg", "instruction": "Make it red."})"
                   "\n"
                   R"({"id": "b", "source": "img/a.png", "target": "img/gone.jpg", "instruction": "Make it blue."})"
                   "\n");
  auto r = test::run_cli({"data", "pack", (dir / "sft.jsonl").string(), (dir / "out").string(), "--family", "qwen2_vl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("packed 1 of 2 records"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sft.jsonl:2 [id b]"), std::string::npos) << r.out;
  auto index = nlohmann::json::parse(test::read_text(dir / "out" / "index.json"));
  EXPECT_EQ(index["family"], "qwen2_vl");
  EXPECT_EQ(index["records"].size(), 2u);
  EXPECT_TRUE(index["records"][1].contains("problem"));
  EXPECT_TRUE(std::filesystem::exists(dir / "out" / "images-00000.safetensors"));
  EXPECT_EQ(test::read_text(dir / "out" / "manifest.jsonl"), test::read_text(dir / "sft.jsonl"));
  auto strict = test::run_cli({"data", "pack", (dir / "sft.jsonl").string(), (dir / "out2").string(), "--strict"});
  EXPECT_EQ(strict.exit_code, 3);
}

}  // namespace
}  // namespace ec
