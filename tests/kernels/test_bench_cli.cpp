// `editcaption bench loss --tiny` runs on a CPU and prints the JSON the GPU runs will record.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/common/test_util.h"

namespace ec {
namespace {

TEST(BenchLossCli, TinyCpuSmoke) {
  auto r = test::run_cli({"bench", "loss", "--tiny", "--device", "cpu", "--warmup", "0", "--iters", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["benchmark"], "loss");
  ASSERT_EQ(doc["results"].size(), 6u);  // shapes a, b, c x losses dpo, sft
  for (const auto& res : doc["results"]) {
    for (const char* path : {"naive", "fused"}) {
      EXPECT_GT(res[path]["fwd_bwd_ms"].get<double>(), 0.0) << path;
      EXPECT_GT(res[path]["model_tflops"].get<double>(), 0.0) << path;
      EXPECT_TRUE(res[path].contains("peak_extra_bytes")) << path;
    }
    // Both paths compute the same loss.
    EXPECT_NEAR(res["loss_fused"].get<double>(), res["loss_naive"].get<double>(),
                1e-4 * std::max(1.0, std::abs(res["loss_naive"].get<double>())));
  }
}

TEST(BenchLossCli, BadArgumentsAreUsageErrors) {
  EXPECT_EQ(test::run_cli({"bench", "loss", "--tiny", "--device", "cpu", "--losses", "kto"}).exit_code, 2);
  EXPECT_EQ(test::run_cli({"bench", "loss", "--tiny", "--device", "tpu"}).exit_code, 2);
  EXPECT_EQ(test::run_cli({"bench"}).exit_code, 2);
}

}  // namespace
}  // namespace ec
