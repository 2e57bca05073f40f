// TensorBoard event files: CRC32C against published check values, and the `tensorboard`
// package (the reference reader) decoding the scalars we wrote.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

#include "editcaption/core/tfevents.h"
#include "tests/common/test_util.h"

namespace ec {
namespace {
namespace fs = std::filesystem;

TEST(TfEvents, Crc32cCheckValues) {
  // The CRC catalogue's check value for CRC-32C, and RFC 3720 (iSCSI) appendix B.4 vectors.
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  std::string zeros(32, '\0'), ones(32, '\xff'), inc(32, '\0');
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<char>(i);
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62A8AB43u);
  EXPECT_EQ(crc32c(inc.data(), inc.size()), 0x46DD794Eu);
}

TEST(TfEvents, FrameLayout) {
  std::string rec = tfrecord_frame("abc");
  ASSERT_EQ(rec.size(), 8u + 4u + 3u + 4u);
  uint64_t len = 0;
  std::memcpy(&len, rec.data(), 8);
  EXPECT_EQ(len, 3u);
  EXPECT_EQ(rec.substr(12, 3), "abc");
}

TEST(TfEvents, TensorboardReadsOurScalars) {
  test::TempDir dir;
  std::vector<std::pair<int64_t, double>> loss;
  {
    TfEventsWriter w(dir.path(), ".test");
    for (int64_t step = 0; step < 50; ++step) {
      double v = 2.0 * std::exp(-0.05 * step) + 0.1;
      loss.emplace_back(step, v);
      w.add_scalar("loss", step, v, 1700000000.0 + step);
    }
    // A metrics.jsonl record: every number becomes a scalar, the axis keys do not.
    w.add_metrics_record(nlohmann::ordered_json{{"step", 100000000000LL}, {"time", 1700000100.5}, {"rank", 0},
                                                {"rewards/margins", 0.75}, {"lr", 2e-5}, {"note", "text"}});
    w.add_scalar("negative_step", -3, 1.5);
  }
  auto r = test::run_command({test::python(), (test::source_dir() / "tools/reference/read_tfevents.py").string(),
                              dir.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["file_version"], "brain.Event:2");
  EXPECT_EQ(j["events"].get<int>(), 1 + 50 + 1 + 1);
  const auto& s = j["scalars"];
  ASSERT_TRUE(s.contains("loss"));
  ASSERT_EQ(s["loss"].size(), loss.size());
  for (size_t i = 0; i < loss.size(); ++i) {
    EXPECT_EQ(s["loss"][i][0].get<int64_t>(), loss[i].first);
    EXPECT_FLOAT_EQ(s["loss"][i][1].get<float>(), static_cast<float>(loss[i].second));
    EXPECT_DOUBLE_EQ(s["loss"][i][2].get<double>(), 1700000000.0 + loss[i].first);
  }
  ASSERT_TRUE(s.contains("rewards/margins"));
  EXPECT_EQ(s["rewards/margins"][0][0].get<int64_t>(), 100000000000LL);
  EXPECT_FLOAT_EQ(s["rewards/margins"][0][1].get<float>(), 0.75f);
  EXPECT_DOUBLE_EQ(s["rewards/margins"][0][2].get<double>(), 1700000100.5);
  EXPECT_FLOAT_EQ(s["lr"][0][1].get<float>(), 2e-5f);
  EXPECT_FALSE(s.contains("rank"));
  EXPECT_FALSE(s.contains("time"));
  EXPECT_EQ(s["negative_step"][0][0].get<int64_t>(), -3);
}

TEST(TfEvents, ReferenceReaderRejectsCorruptRecord) {
  // The CRCs are what the reader checks: flip one payload byte and it must complain.
  test::TempDir dir;
  fs::path file;
  {
    TfEventsWriter w(dir.path());
    w.add_scalar("loss", 1, 0.5);
    file = w.path();
  }
  std::string bytes = test::read_text(file);
  bytes[bytes.size() - 6] ^= 0x40;
  test::write_text(file, bytes);
  auto r = test::run_command({test::python(), (test::source_dir() / "tools/reference/read_tfevents.py").string(),
                              file.string()});
  EXPECT_NE(r.exit_code, 0) << r.out;
}

}  // namespace
}  // namespace ec
