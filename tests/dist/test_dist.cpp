// Multi-process equivalence on CPU (Gloo): data, tensor and ZeRO-1 parallel runs of the toy models
// in tests/dist/worker must match one process with the same global batch.
#include <gtest/gtest.h>

#include "tests/dist/dist_test_util.h"

namespace ec::test {
namespace {

namespace fs = std::filesystem;

struct Runs {
  TempDir dir{"ec-dist"};
  fs::path sub(const std::string& name) {
    fs::create_directories(dir / name);
    return dir / name;
  }
};

// One reference process, then three two-rank runs of the same global batch: fp32 reduction,
// bf16 reduction and ZeRO-1 (one test, so the reference runs once).
TEST(DataParallel, TwoRanksEqualOneProcessAfterFiveSteps) {
  Runs r;
  auto one = r.sub("one"), two = r.sub("two"), bf16 = r.sub("bf16"), zero = r.sub("zero");
  const std::vector<std::string> common{"train", "--model", "mlp", "--bucket-bytes", "200"};
  auto with = [&](std::vector<std::string> extra, const fs::path& out) {
    std::vector<std::string> args = common;
    args.insert(args.end(), {"--out", out.string()});
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  auto a = run_single(with({}, one));
  ASSERT_EQ(a.exit_code, 0) << a.err;
  auto b = run_launched(2, with({}, two));
  ASSERT_EQ(b.exit_code, 0) << b.err;
  expect_close(two / "params.txt", one / "params.txt", 1e-6);
  expect_close(two / "state.txt", one / "state.txt", 1e-6);
  expect_close(two / "norms.txt", one / "norms.txt", 1e-6);
  // Several buckets, and at least one went out during the backward pass (overlap).
  int buckets = 0, in_backward = 0;
  std::istringstream(read_text(two / "stats.txt")) >> buckets >> in_backward;
  EXPECT_GE(buckets, 3);
  EXPECT_GE(in_backward, 1);

  // bf16 rounds each reduced gradient (relative 2^-9): after five steps of lr 1e-2 the parameters
  // stay within a few 1e-3 (they move by about 5e-2).
  auto c = run_launched(2, with({"--reduce", "bf16"}, bf16));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  expect_close(bf16 / "params.txt", one / "params.txt", 1e-2);

  // ZeRO-1: same parameters and (gathered) optimizer state, about half the state per rank.
  auto d = run_launched(2, with({"--zero1", "1"}, zero));
  ASSERT_EQ(d.exit_code, 0) << d.err;
  expect_close(zero / "params.txt", two / "params.txt", 1e-6);
  expect_close(zero / "state.txt", two / "state.txt", 1e-6);
  long state = 0, full = 0;
  std::istringstream(read_text(zero / "stats.txt")) >> buckets >> in_backward >> state >> full;
  EXPECT_LT(state, full * 0.6) << "ZeRO-1 over 2 ranks holds about half the optimizer state";
  EXPECT_NE(d.err.find("ZeRO-1 over 2 data-parallel ranks"), std::string::npos) << d.err;
}

TEST(TensorParallel, TwoRanksForwardAndBackwardEqualOneProcess) {
  Runs r;
  auto one = r.sub("one"), two = r.sub("two");
  ASSERT_EQ(run_single({"tp_grad", "--out", one.string()}).exit_code, 0);
  auto b = run_launched(2, {"tp_grad", "--out", two.string(), "--tp", "2"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  expect_close(two / "tp_grad.txt", one / "tp_grad.txt", 1e-5);
}

TEST(TensorParallel, DpTwoByTpTwoWithZero1EqualsOneProcess) {
  Runs r;
  auto one = r.sub("one"), four = r.sub("four");
  auto a = run_single({"train", "--out", one.string(), "--model", "block"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  auto b = run_launched(4, {"train", "--out", four.string(), "--model", "block", "--tp", "2", "--zero1", "1"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  expect_close(four / "params.txt", one / "params.txt", 1e-5);
  expect_close(four / "norms.txt", one / "norms.txt", 1e-5);
}

TEST(Agreement, EveryRankGetsTheSameAnswer) {
  auto r = run_launched(3, {"agree"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(Torchrun, NoPythonLaunchWorks) {
  fs::path torchrun = fs::path(python()).parent_path() / "torchrun";
  if (!fs::exists(torchrun)) GTEST_SKIP() << "torchrun not found next to " << python();
  Runs r;
  auto one = r.sub("one"), two = r.sub("two");
  ASSERT_EQ(run_single({"train", "--out", one.string()}).exit_code, 0);
  auto b = run_command({torchrun.string(), "--standalone", "--nproc-per-node", "2", "--no-python", worker(), "train",
                        "--out", two.string()});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  expect_close(two / "params.txt", one / "params.txt", 1e-6);
}

}  // namespace
}  // namespace ec::test
