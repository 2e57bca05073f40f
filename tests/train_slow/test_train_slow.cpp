// The long kill test (label `slow`; EDITCAPTION_TEST_ALL=1 tools/test.sh runs it): a training run
// is SIGKILLed at least 20 times, at random moments and at every fault point of the checkpoint
// commit protocol, restarting each time with `checkpoint.resume: auto`; it must end with weights
// bit-identical to an uninterrupted run. The tally is printed for docs/reliability.md.
#include <gtest/gtest.h>

#include <random>

#include "tests/dist/dist_test_util.h"
#include "tests/train/train_fixture.h"

namespace ec::test {
namespace {
namespace fs = std::filesystem;

TEST(TrainSlow, TwentyKillsEndBitIdenticalToAnUninterruptedRun) {
  TempDir tmp("ec-train-slow");
  const int64_t steps = 1000;
  auto argv_for = [&](const std::string& name) {
    const fs::path cfg = tmp / (name + ".yaml");
    if (!fs::exists(cfg)) write_text(cfg, train_config_yaml(tmp / "runs", name, /*dpo=*/false));
    return std::vector<std::string>{cli_path().string(), "sft", cfg.string(), "--set",
                                    fmt::format("train.max_steps={}", steps), "--set", "checkpoint.interval_steps=1",
                                    "--set", "checkpoint.keep_last=2"};
  };
  Proc ref = start(argv_for("ref"), {}, tmp.path(), "ref");
  ASSERT_TRUE(wait_for(ref, 600));
  ASSERT_EQ(ref.code, 0) << ref.stderr_text();

  const std::vector<std::string> points = {"ckpt.after_shard", "ckpt.before_manifest", "ckpt.before_rename",
                                           "ckpt.before_latest", "ckpt.after_latest"};
  std::mt19937 rng(2026);
  int kills = 0, point_kills = 0, attempts = 0;
  bool done = false;
  while (!done && attempts < 200) {
    ++attempts;
    std::map<std::string, std::string> env;
    if (kills < 20 && attempts % 3 == 0) {  // a power cut inside a save, at each protocol point in turn
      env["EC_FAULT_AT"] = points[point_kills % points.size()] + ":kill";
      ++point_kills;
    }
    Proc p = start(argv_for("run"), env, tmp.path(), fmt::format("run{}", attempts));
    // Kill during start-up or after a few steps: every start makes little or no progress, so the
    // run dies at many different places (loading, mid-step, mid-save) before it may finish.
    const double step_s = ref.seconds / steps;
    const double at = std::uniform_real_distribution<double>(0.3, 1.5)(rng) +
                      std::uniform_real_distribution<double>(0, 8)(rng) * step_s;
    const bool finished = wait_for(p, kills >= 20 ? 600.0 : at);
    if (finished && p.code == 0) {
      done = true;
    } else {
      ASSERT_TRUE(!finished || p.code == 128 + SIGKILL) << p.code << "\n" << p.stderr_text();
      ++kills;
    }
  }
  ASSERT_TRUE(done);
  EXPECT_GE(kills, 20);
  const fs::path a = tmp / "runs/ref/checkpoints" / fmt::format("step_{:08d}", steps) / "rank_00000/model.safetensors";
  const fs::path b = tmp / "runs/run/checkpoints" / fmt::format("step_{:08d}", steps) / "rank_00000/model.safetensors";
  EXPECT_EQ(read_text(a), read_text(b));
  std::printf("kill test: %d kills (%d at checkpoint fault points) over %d starts; final weights identical: %s\n", kills,
              point_kills, attempts, read_text(a) == read_text(b) ? "yes" : "no");
}

}  // namespace
}  // namespace ec::test
