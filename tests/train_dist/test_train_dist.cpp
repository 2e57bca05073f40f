// The trainer across processes: data parallelism over Gloo equals one process with the same global
// batch; a ZeRO-1 run resumes on another data-parallel size; kill -9 in the middle of a save, the
// next start resumes from the last complete checkpoint and ends where an uninterrupted run ends.
#include <gtest/gtest.h>

#include <csignal>

#include "tests/train/train_fixture.h"
#include "tests/train_dist/train_runs.h"

namespace ec::test {
namespace {
namespace fs = std::filesystem;

TEST(TrainDist, DataParallelTwoRanksEqualOneProcess) {
  TempDir tmp("ec-train-dist");
  const std::vector<std::string> sets = {"train.max_steps=4", "train.micro_batch_size=1", "dist.bucket_mb=0.05"};
  CommandResult one = train(tmp, "sft", "one", 1, sets);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  CommandResult two = train(tmp, "sft", "two", 2, sets);
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_LT(max_abs_diff(final_model(tmp, "one", 4), final_model(tmp, "two", 4)), 1e-6);
}

TEST(TrainDist, TwoRankRunResumedTwiceIsBitwiseIdentical) {
  TempDir tmp("ec-train-dist");
  const std::vector<std::string> sets = {"train.max_steps=6", "train.micro_batch_size=1", "dist.bucket_mb=0.05"};
  CommandResult full = train(tmp, "sft", "full", 2, sets);
  ASSERT_EQ(full.exit_code, 0) << full.err;
  for (const char* stop : {"train.stop_at_step=2", "train.stop_at_step=4", ""}) {
    auto s = sets;
    if (*stop) s.push_back(stop);
    CommandResult part = train(tmp, "sft", "split", 2, s);
    ASSERT_EQ(part.exit_code, 0) << part.err;
  }
  EXPECT_EQ(read_text(final_model(tmp, "full", 6)), read_text(final_model(tmp, "split", 6)));
  EXPECT_EQ(read_text(tmp / "runs/full/checkpoints/step_00000006/rank_00000/optimizer.safetensors"),
            read_text(tmp / "runs/split/checkpoints/step_00000006/rank_00000/optimizer.safetensors"));
}

TEST(TrainDist, Zero1RunResumesOnOneRank) {
  TempDir tmp("ec-train-dist");
  const std::vector<std::string> sets = {"train.max_steps=4", "train.micro_batch_size=1"};
  CommandResult ref = train(tmp, "dpo", "ref", 1, sets);
  ASSERT_EQ(ref.exit_code, 0) << ref.err;
  auto first = sets;
  first.push_back("dist.zero1=true");
  first.push_back("train.stop_at_step=2");
  CommandResult a = train(tmp, "dpo", "split", 2, first);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  auto second = sets;
  second.push_back("checkpoint.allow_config_changes=[dist.zero1]");
  CommandResult b = train(tmp, "dpo", "split", 1, second);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_NE(b.err.find("resumed from"), std::string::npos) << b.err;
  EXPECT_LT(max_abs_diff(final_model(tmp, "ref", 4), final_model(tmp, "split", 4)), 1e-5);
}

TEST(TrainFault, KillDuringSaveResumesFromTheLastCompleteCheckpoint) {
  TempDir tmp("ec-train-kill");
  const std::vector<std::string> sets = {"train.max_steps=6"};
  CommandResult ref = train(tmp, "sft", "ref", 1, sets);
  ASSERT_EQ(ref.exit_code, 0) << ref.err;
  CommandResult killed = train(tmp, "sft", "run", 1, sets, {"EC_FAULT_AT=ckpt.before_rename:kill", "EC_FAULT_STEP=4"});
  EXPECT_EQ(killed.exit_code, 128 + SIGKILL) << killed.err;
  EXPECT_FALSE(fs::exists(tmp / "runs/run/checkpoints/step_00000004"));
  CommandResult resumed = train(tmp, "sft", "run", 1, sets);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("at step 2"), std::string::npos) << resumed.err;
  EXPECT_EQ(read_text(final_model(tmp, "ref", 6)), read_text(final_model(tmp, "run", 6)));
}

TEST(TrainFault, SigtermSavesAndExitsWithThePreemptedCode) {
  TempDir tmp("ec-train-term");
  const std::vector<std::string> sets = {"train.max_steps=6", "checkpoint.interval_steps=0"};
  CommandResult ref = train(tmp, "sft", "ref", 1, sets);
  ASSERT_EQ(ref.exit_code, 0) << ref.err;
  // A time budget of 0.001 s stops after the first step as a signal would.
  auto first = sets;
  first.push_back("train.time_budget_s=0.001");
  CommandResult stopped = train(tmp, "sft", "run", 1, first);
  EXPECT_EQ(stopped.exit_code, 75) << stopped.err;
  EXPECT_TRUE(fs::exists(tmp / "runs/run/checkpoints/step_00000001/manifest.json"));
  CommandResult resumed = train(tmp, "sft", "run", 1, sets);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(read_text(final_model(tmp, "ref", 6)), read_text(final_model(tmp, "run", 6)));
}

}  // namespace
}  // namespace ec::test
